using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Loop;

/// <summary>
/// Middleware around every model turn of a task: counts the step and enforces the token and cost budgets before
/// the call; while the answer streams, shows its text and thoughts as coalesced deltas and the file a
/// <c>write_file</c> call is writing as a draft artifact; records usage (cached input and reasoning tokens
/// included) after it. A turn that fails half-way withdraws what it showed. The kind of text ("plan" or "text")
/// comes from <c>ChatOptions.AdditionalProperties["osiris.kind"]</c>.
/// </summary>
public sealed class AgentTurnChatClient(IChatClient inner, TaskRun run) : DelegatingChatClient(inner)
{
    public const string KindProperty = "osiris.kind";

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await run.BeginStepAsync(cancellationToken);
        var kind = options?.AdditionalProperties?.TryGetValue(KindProperty, out var k) == true ? k as string ?? MessageKinds.Text : MessageKinds.Text;
        var text = new StreamedMessage(run, kind, cancellationToken);
        StreamedMessage? thought = null;
        var drafts = new FileDrafts(run, cancellationToken);
        long input = 0, cached = 0, output = 0, reasoning = 0;
        string? finish = null;

        async Task WithdrawAsync()
        {
            await text.RetractAsync();
            if (thought is not null)
            {
                await thought.RetractAsync();
            }
            await drafts.DiscardAllAsync();
            if (input + output > 0)
            {
                // Tokens of a broken stream are billed too.
                await run.AddUsageAsync(new ModelUsage(input, cached, output, reasoning, "error"), CancellationToken.None);
            }
        }

        await using var updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await updates.MoveNextAsync())
                {
                    break;
                }
            }
            catch
            {
                await WithdrawAsync();
                throw;
            }
            var update = updates.Current;
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent t:
                        text.Append(t.Text);
                        break;
                    case TextReasoningContent { Text.Length: > 0 } r:
                        (thought ??= new StreamedMessage(run, MessageKinds.Thought, cancellationToken)).Append(r.Text);
                        break;
                    case UsageContent usage:
                        input += usage.Details.InputTokenCount ?? 0;
                        cached += usage.Details.CachedInputTokenCount ?? 0;
                        output += usage.Details.OutputTokenCount ?? 0;
                        reasoning += usage.Details.ReasoningTokenCount ?? 0;
                        break;
                }
            }
            drafts.Read(update);
            finish = update.FinishReason?.Value ?? finish;
            yield return update;
        }

        if (finish is null)
        {
            // The connection ended without the provider's finish reason (no finish_reason, no [DONE] seen by the SDK, no
            // finishReason chunk): the answer is cut, however complete it looks. Retried like a dropped connection.
            await WithdrawAsync();
            throw new IOException($"The {run.Brain} stream ended before the model finished its turn.");
        }
        if (thought is not null)
        {
            await thought.CompleteAsync();
        }
        await text.CompleteAsync();
        await drafts.FlushAllAsync();
        if (input + output > 0)
        {
            await run.AddUsageAsync(new ModelUsage(input, cached, output, reasoning, finish), cancellationToken);
        }
    }

    /// <summary>
    /// The files <c>write_file</c> calls are writing while their arguments stream in (OpenAI's Chat Completions
    /// sends them in fragments; Gemini sends each call whole, so there the card appears when the call does).
    /// </summary>
    private sealed class FileDrafts(TaskRun run, CancellationToken ct)
    {
        private readonly Dictionary<int, Draft> _calls = [];

        public void Read(ChatResponseUpdate update)
        {
            if (update.RawRepresentation is not OpenAI.Chat.StreamingChatCompletionUpdate raw)
            {
                return;
            }
            foreach (var call in raw.ToolCallUpdates)
            {
                if (!_calls.TryGetValue(call.Index, out var draft))
                {
                    _calls[call.Index] = draft = new Draft(run, ct);
                }
                draft.CallId ??= call.ToolCallId;
                draft.Name ??= call.FunctionName;
                if (call.FunctionArgumentsUpdate is { } fragment && !fragment.IsEmpty)
                {
                    draft.Arguments.Append(fragment.ToString());
                    draft.Advance();
                }
            }
        }

        public async Task FlushAllAsync()
        {
            foreach (var draft in _calls.Values)
            {
                await draft.FlushAsync();
            }
        }

        public async Task DiscardAllAsync()
        {
            foreach (var draft in _calls.Values)
            {
                await draft.DiscardAsync();
            }
        }
    }

    private sealed class Draft(TaskRun run, CancellationToken ct)
    {
        /// <summary>A draft is a preview: beyond this many characters the card waits for the written version.</summary>
        private const int MaxDraftChars = 256 * 1024;

        private DeltaCoalescer? _content;
        private string? _path;

        public string? CallId { get; set; }
        public string? Name { get; set; }
        public StringBuilder Arguments { get; } = new();

        public void Advance()
        {
            if (Name != "write_file")
            {
                return;
            }
            var json = Arguments.ToString();
            _path ??= PartialJson.ReadString(json, "path", out var pathDone) is { Length: > 0 } path && pathDone ? path : null;
            if (_path is null || PartialJson.ReadString(json, "content", out _) is not { } content)
            {
                return;
            }
            _content ??= new DeltaCoalescer(TimeSpan.FromMilliseconds(run.Options.CoalesceMilliseconds), PublishAsync, ct);
            var known = _content.Text.Length;
            var upTo = Math.Min(content.Length, MaxDraftChars);
            if (upTo > known)
            {
                _content.Append(content[known..upTo]);
            }
        }

        private Task PublishAsync(string delta) =>
            run.PublishAsync(EventTypes.ArtifactStream,
                new ArtifactStreamPayload(_path!, "", 0, _content!.Text.Length, Partial: true, Delta: delta, CallId: CallId), ct);

        public Task FlushAsync() => _content?.FlushAsync() ?? Task.CompletedTask;

        public async Task DiscardAsync()
        {
            if (_content is null)
            {
                return;
            }
            await _content.AbandonAsync();
            await run.PublishAsync(EventTypes.ArtifactStream,
                new ArtifactStreamPayload(_path!, "", 0, 0, Partial: true, CallId: CallId, Discarded: true), CancellationToken.None);
        }
    }
}
