using System.Diagnostics;
using System.Threading.Channels;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Streaming;

/// <summary>An event ready to write: its SSE frame is formatted once for every client of this replica.</summary>
public sealed record DispatchedEvent(OsirisEvent Event, byte[] Frame, long PublishedAtTicks, ActivityContext Parent);

/// <summary>The <c>taskId</c> and <c>types</c> filters of one stream; task filters leave global events out.</summary>
public sealed record EventFilter(IReadOnlySet<Guid>? TaskIds, IReadOnlySet<string>? Types)
{
    public bool Matches(OsirisEvent e) =>
        (TaskIds is null || e.TaskId is Guid id && TaskIds.Contains(id)) &&
        (Types is null || Types.Contains(e.Type));
}

/// <summary>
/// One client's bounded buffer. The hub never waits for a client: when the buffer is full the subscription
/// completes, the stream ends, and the client resumes with Last-Event-ID — others are not slowed down.
/// </summary>
public sealed class StreamSubscription : IDisposable
{
    private readonly EventHub _hub;
    private readonly Channel<DispatchedEvent> _channel;

    internal StreamSubscription(EventHub hub, EventFilter filter, int capacity, bool traced)
    {
        Traced = traced;
        _hub = hub;
        Filter = filter;
        _channel = Channel.CreateBounded<DispatchedEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public EventFilter Filter { get; }

    public bool IsClient { get; init; } = true;

    /// <summary>Whether this client's writes get their own spans (bounded per replica to keep tracing cheap).</summary>
    public bool Traced { get; }
    public ChannelReader<DispatchedEvent> Reader => _channel.Reader;
    internal void Offer(DispatchedEvent e)
    {
        if (!Filter.Matches(e.Event) || _channel.Writer.TryWrite(e))
        {
            return;
        }
        _channel.Writer.TryComplete();
        _hub.Remove(this);
    }

    internal void Close() => _channel.Writer.TryComplete();

    public void Dispose() => _hub.Remove(this);
}
