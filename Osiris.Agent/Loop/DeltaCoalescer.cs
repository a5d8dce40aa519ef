using System.Text;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Loop;

/// <summary>
/// Streams one assistant message as <c>new_message</c> deltas: pieces are gathered and published at most once per
/// coalescing window (30 ms by default) — never an event per token, and never later than one window after a piece
/// arrived. <see cref="CompleteAsync"/> publishes the whole text as the final message.
/// </summary>
public sealed class DeltaCoalescer(TaskRun run, string kind, CancellationToken ct)
{
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _all = new();
    private readonly Lock _gate = new();
    private Task _flush = Task.CompletedTask;

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
            var idle = _pending.Length == 0;
            _pending.Append(piece);
            if (idle)
            {
                var previous = _flush;
                _flush = FlushLaterAsync(previous);
            }
        }
    }

    private async Task FlushLaterAsync(Task previous)
    {
        await previous;
        await Task.Delay(run.Options.CoalesceMilliseconds, ct);
        await FlushAsync();
    }

    private async Task FlushAsync()
    {
        string delta;
        lock (_gate)
        {
            delta = _pending.ToString();
            _pending.Clear();
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
