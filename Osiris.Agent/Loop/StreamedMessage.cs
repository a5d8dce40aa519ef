using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Loop;

/// <summary>
/// One assistant message (kind <c>text</c>, <c>plan</c> or <c>thought</c>) shown while the model writes it:
/// <c>new_message</c> deltas through a <see cref="DeltaCoalescer"/>, then the whole text, stored. A turn that fails
/// half-way withdraws what it showed (<c>retracted: true</c>), so the retried answer does not appear beside it.
/// </summary>
public sealed class StreamedMessage
{
    private readonly TaskRun _run;
    private readonly string _kind;
    private readonly CancellationToken _ct;
    private readonly DeltaCoalescer _deltas;

    public StreamedMessage(TaskRun run, string kind, CancellationToken ct)
    {
        _run = run;
        _kind = kind;
        _ct = ct;
        _deltas = new DeltaCoalescer(TimeSpan.FromMilliseconds(run.Options.CoalesceMilliseconds), PublishDeltaAsync, ct);
    }

    public Guid MessageId { get; } = Guid.CreateVersion7();

    public string Text => _deltas.Text;

    public void Append(string piece) => _deltas.Append(piece);

    private Task PublishDeltaAsync(string delta) =>
        _run.PublishAsync(EventTypes.NewMessage, new NewMessagePayload(MessageId, MessageRoles.Assistant, _kind, Text: null, Delta: delta, Final: false, Model: _run.Model), _ct);

    /// <summary>Flushes what is pending, then stores and publishes the whole message (nothing when it is empty).</summary>
    public async Task<string> CompleteAsync()
    {
        await _deltas.FlushAsync();
        var text = Text;
        if (text.Length > 0)
        {
            await _run.StoreMessageAsync(new MessageRecord
            {
                Id = MessageId, TaskId = _run.TaskId, Role = MessageRoles.Assistant, Kind = _kind, Text = text, Model = _run.Model, CreatedAt = _run.Now,
            }, new NewMessagePayload(MessageId, MessageRoles.Assistant, _kind, text, Delta: null, Final: true, Model: _run.Model), _ct);
        }
        return text;
    }

    /// <summary>Withdraws the deltas already shown; nothing is stored.</summary>
    public async Task RetractAsync()
    {
        await _deltas.AbandonAsync();
        if (Text.Length > 0)
        {
            await _run.PublishAsync(EventTypes.NewMessage,
                new NewMessagePayload(MessageId, MessageRoles.Assistant, _kind, Text: "", Delta: null, Final: true, Model: _run.Model, Retracted: true), CancellationToken.None);
        }
    }
}
