using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Osiris.Agent.Loop;

/// <summary>
/// Middleware around every model turn of a task: counts the step and enforces the step, token and cost budgets
/// before the call; streams the text as coalesced deltas while it arrives; records usage and cost after it.
/// The kind of text ("plan" or "text") comes from <c>ChatOptions.AdditionalProperties["osiris.kind"]</c>.
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
        var kind = options?.AdditionalProperties?.TryGetValue(KindProperty, out var k) == true ? k as string ?? "text" : "text";
        var text = new DeltaCoalescer(run, kind, cancellationToken);
        long input = 0, output = 0;

        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent t:
                        text.Append(t.Text);
                        break;
                    case UsageContent usage:
                        input += usage.Details.InputTokenCount ?? 0;
                        output += usage.Details.OutputTokenCount ?? 0;
                        break;
                }
            }
            yield return update;
        }

        await text.CompleteAsync();
        if (input + output > 0)
        {
            await run.AddUsageAsync(input, output, cancellationToken);
        }
    }
}
