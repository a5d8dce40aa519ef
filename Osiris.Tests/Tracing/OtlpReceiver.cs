using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Osiris.Tests.Tracing.Otlp;

namespace Osiris.Tests.Tracing;

/// <summary>One span as a receiver saw it: which service sent it, its ids (hex) and its times (Unix nanoseconds).</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string? ParentSpanId, string Name,
    ulong StartNanos, ulong EndNanos, IReadOnlyDictionary<string, string> Attributes)
{
    public double DurationMs => (EndNanos - StartNanos) / 1e6;
}

/// <summary>
/// An OTLP/HTTP receiver (protobuf, <c>POST /v1/traces</c>) standing in for the Aspire dashboard: the app's services
/// export their spans here, exactly as they would to the dashboard. Metrics and logs are accepted and dropped.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    /// <summary>The base address to give as OTEL_EXPORTER_OTLP_ENDPOINT (with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf).</summary>
    public string Endpoint => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", receiver.ReceiveAsync);
        app.MapPost("/v1/metrics", Accept);
        app.MapPost("/v1/logs", Accept);
        await app.StartAsync();
        return receiver;
    }

    private static async Task Accept(HttpContext http)
    {
        await http.Request.Body.CopyToAsync(Stream.Null);
        http.Response.ContentType = "application/x-protobuf";
    }

    private async Task ReceiveAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        var request = ExportTraceServiceRequest.Parser.ParseFrom(buffer.ToArray());
        foreach (var resource in request.ResourceSpans)
        {
            var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
            foreach (var span in resource.ScopeSpans.SelectMany(s => s.Spans))
            {
                Spans.Enqueue(new ReceivedSpan(service, Hex(span.TraceId), Hex(span.SpanId),
                    span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId), span.Name, span.StartTimeUnixNano, span.EndTimeUnixNano,
                    span.Attributes.ToDictionary(a => a.Key, a => Text(a.Value))));
            }
        }
        http.Response.ContentType = "application/x-protobuf";
        await http.Response.Body.WriteAsync(new ExportTraceServiceResponse().ToByteArray());
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "",
    };

    /// <summary>Sends every project resource's telemetry here instead of to a dashboard, flushed every 200 ms.</summary>
    public void ExportFrom(Aspire.Hosting.IDistributedApplicationBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<Aspire.Hosting.ApplicationModel.ProjectResource>())
        {
            Aspire.Hosting.ResourceBuilderExtensions.WithEnvironment(builder.CreateResourceBuilder(project), context =>
            {
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint;
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "200";
                context.EnvironmentVariables["OTEL_METRIC_EXPORT_INTERVAL"] = "10000";
            });
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
