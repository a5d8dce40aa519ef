using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Osiris.Agent.Loop;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Brains;

/// <summary>
/// The innermost link of a task's pipeline: before every model turn it reads the task's current brain and model
/// (so <c>PUT /tasks/{id}/brain</c> takes effect at the next turn) and calls that provider. After repeated failures
/// it falls back to the next configured provider and announces it.
/// </summary>
public sealed class BrainRouterChatClient(TaskRun run, BrainFactory brains, ILogger logger) : IChatClient
{
    private int _consecutiveFailures;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
        }
        return updates.ToChatResponse();
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (brain, model) = await run.CurrentBrainAsync(cancellationToken);
        var client = brains.Get(brain);
        var callOptions = options?.Clone() ?? new ChatOptions();
        callOptions.ModelId = model;
        logger.LogInformation("Task {TaskId} step {Step}: calling {Brain} model {Model}{Offline}", run.TaskId, run.Step, brain, model,
            brain == Shared.Contracts.Brains.Offline ? " (offline brain: scripted, not AI)" : "");

        await using var enumerator = client.GetStreamingResponseAsync(messages, callOptions, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var first = true;
        while (true)
        {
            ChatResponseUpdate update;
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    break;
                }
                update = enumerator.Current;
            }
            catch (Exception ex) when (first && ex is not OperationCanceledException && brains.Settings.ConfiguredBrains().Count() > 1)
            {
                // Only a call that failed before producing anything can move to another provider.
                if (++_consecutiveFailures >= run.Options.FallbackAfterFailures && run.Options.FallbackAfterFailures > 0)
                {
                    var next = brains.Settings.ConfiguredBrains().SkipWhile(b => b != brain).Skip(1).FirstOrDefault()
                        ?? brains.Settings.ConfiguredBrains().First(b => b != brain);
                    _consecutiveFailures = 0;
                    await run.SwitchBrainAsync(next, brains.Settings.For(next).Model,
                        $"{brain} failed {run.Options.FallbackAfterFailures} times in a row ({ex.Message}); task {run.TaskId} falls back to {next}.",
                        cancellationToken);
                }
                throw;
            }
            first = false;
            _consecutiveFailures = 0;
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
