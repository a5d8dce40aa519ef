using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Osiris.Shared.Events;

/// <summary>The ActivitySource and Meter of the event backbone (ServiceDefaults listens to every "Osiris.*").</summary>
public static class OsirisTelemetry
{
    public const string Name = "Osiris.Events";
    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Histogram<double> DeliveryLatency = Meter.CreateHistogram<double>(
        "osiris.event.delivery.latency", unit: "ms", description: "Time from an event's publication to its SSE frame written to a client");
}
