using System.Text;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Loop;

/// <summary>
/// Streams one assistant message as <c>new_message</c> deltas: at most one event per coalescing window (30 ms by
/// default), never an event per token. A piece that arrives when the last delta is a window old goes out at once;
/// otherwise it waits only for the rest of the window. <see cref="CompleteAsync"/> publishes the whole text.
/// </summary>
public sealed class DeltaCoalescer(TaskRun run, string kind, CancellationToken ct)
{
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _all = new();
    private readonly Lock _gate = new();
    private Task _flush = Task.CompletedTask;
    private long _lastFlush;
    private bool _scheduled;

    public Guid MessageId { get; } = Guid.CreateVersion7();
    public string Text { get { lock (_gate) { return _all.ToString(); } } }

    public void Append(string piece)
    {
        if (piece.Length == 0)
        {
            return;
        }
        lock (_gate)
        {
            _all.Append(piece);
            _pending.Append(piece);
            if (!_scheduled)
            {
                _scheduled = true;
                var window = TimeSpan.FromMilliseconds(run.Options.CoalesceMilliseconds);
                var wait = window - System.Diagnostics.Stopwatch.GetElapsedTime(_lastFlush);
                _flush = FlushAfterAsync(_flush, wait);
            }
        }
    }

    private async Task FlushAfterAsync(Task previous, TimeSpan wait)
    {
        await Task.Yield(); // never publish inline, inside the caller's lock, on the model stream's thread
        var delay = wait > TimeSpan.Zero ? Task.Delay(wait, ct) : Task.CompletedTask;
        await previous;
        await delay;
        await FlushAsync();
    }

    private async Task FlushAsync()
    {
        string delta;
        lock (_gate)
        {
            delta = _pending.ToString();
            _pending.Clear();
            _scheduled = false;
            _lastFlush = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        if (delta.Length > 0)
        {
            await run.PublishAsync(EventTypes.NewMessage,
                new NewMessagePayload(MessageId, "assistant", kind, Text: null, Delta: delta, Final: false, Model: run.Model), ct);
        }
    }

    /// <summary>Flushes what is pending, then stores and publishes the whole message.</summary>
    public async Task<string> CompleteAsync()
    {
        Task flush;
        lock (_gate)
        {
            flush = _flush;
        }
        await flush;
        await FlushAsync();
        var text = Text;
        if (text.Length > 0)
        {
            await run.StoreMessageAsync(new Shared.Storage.MessageRecord
            {
                Id = MessageId, TaskId = run.TaskId, Role = "assistant", Kind = kind, Text = text, Model = run.Model, CreatedAt = run.Now,
            }, new NewMessagePayload(MessageId, "assistant", kind, text, Delta: null, Final: true, Model: run.Model), ct);
        }
        return text;
    }
}
