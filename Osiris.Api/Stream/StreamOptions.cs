using System.ComponentModel.DataAnnotations;

namespace Osiris.Api.Stream;

/// <summary><c>Osiris:Stream</c>: tuning of <c>GET /api/v1/stream</c>.</summary>
public sealed class StreamOptions
{
    public const string Section = "Osiris:Stream";

    /// <summary>Events a client may fall behind by before it is closed (it resumes with Last-Event-ID).</summary>
    [Range(16, 1_000_000)]
    public int BufferSize { get; set; } = 4096;

    /// <summary>A <c>: ping</c> comment goes out after this long without any other write.</summary>
    [Range(0.05, 3600)]
    public double HeartbeatSeconds { get; set; } = 15;

    /// <summary>The <c>retry:</c> hint sent to clients.</summary>
    [Range(100, 600_000)]
    public int RetryMilliseconds { get; set; } = 3000;

    /// <summary>How often a replica checks the log for events whose pub/sub message it never received.</summary>
    [Range(0.1, 3600)]
    public double CatchUpSeconds { get; set; } = 5;
}
