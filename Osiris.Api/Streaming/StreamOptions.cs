using System.ComponentModel.DataAnnotations;

namespace Osiris.Api.Streaming;

/// <summary><c>Osiris:Stream</c>: tuning of <c>GET /api/v1/stream</c>.</summary>
public sealed class StreamOptions
{
    public const string Section = "Osiris:Stream";

    /// <summary>Events a client may fall behind by before it is closed (it resumes with Last-Event-ID).</summary>
    [Range(16, 1_000_000)]
    public int BufferSize { get; set; } = 4096;

    /// <summary>
    /// A <c>: ping</c> comment goes out after this long without any other write; clients that hear nothing for a few of
    /// these periods know the stream is dead (the web says "Offline" within seconds).
    /// </summary>
    [Range(0.05, 3600)]
    public double HeartbeatSeconds { get; set; } = 5;

    /// <summary>The <c>retry:</c> hint sent to clients.</summary>
    [Range(100, 600_000)]
    public int RetryMilliseconds { get; set; } = 3000;

    /// <summary>
    /// Per-client <c>osiris.event.sse_write</c> spans are recorded for at most this many clients of a replica; beyond
    /// that only the per-event dispatch span is traced (the latency histogram still records every write).
    /// </summary>
    [Range(0, 100_000)]
    public int MaxTracedClients { get; set; } = 20;

    /// <summary>
    /// Streams one credential may hold open on a replica at once; beyond it a stream request gets 429. Benchmarks
    /// with hundreds of clients on one key raise it explicitly.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxStreamsPerKey { get; set; } = 50;

    /// <summary>
    /// How often an open stream checks that the session or token it was opened with still stands (not revoked, not
    /// expired); when it does not, the stream ends and the client's reconnect is refused.
    /// </summary>
    [Range(0.05, 3600)]
    public double CredentialCheckSeconds { get; set; } = 30;

    /// <summary>How often a replica checks the log for events whose pub/sub message it never received.</summary>
    [Range(0.1, 3600)]
    public double CatchUpSeconds { get; set; } = 5;
}
