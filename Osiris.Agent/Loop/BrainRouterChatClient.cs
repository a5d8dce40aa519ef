using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Osiris.Agent.Brains;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Loop;

/// <summary>
/// The innermost link of a task's pipeline: before every model turn it reads the task's current brain and model
/// (so <c>PUT /tasks/{id}/brain</c> takes effect at the next turn) and calls that provider, watching the stream with
/// the idle and whole-turn timeouts. After repeated transient failures it falls back to the next configured real
/// provider and announces it; the scripted offline brain is never a fallback, and never answers a channel's sender.
/// </summary>
public sealed class BrainRouterChatClient(TaskRun run, BrainFactory brains, ILogger logger) : IChatClient
{
    private int _consecutiveFailures;
    private IChatClient? _replay;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (brain, model) = await run.CurrentBrainAsync(cancellationToken);
        if (brain == BrainNames.Offline && run.IsFromChannel)
        {
            throw new NoModelException();
        }
        var client = brain == BrainNames.Replay ? _replay ??= brains.ForReplay(run) : brains.Get(brain);
        var callOptions = options?.Clone() ?? new ChatOptions();
        callOptions.ModelId = model;
        logger.LogInformation("Task {TaskId} step {Step}: calling {Brain} model {Model}{Offline}", run.TaskId, run.Step, brain, model,
            brain == BrainNames.Offline ? " (offline brain: scripted, not AI)" : "");

        var idle = TimeSpan.FromSeconds(run.Options.ModelIdleTimeoutSeconds);
        var turn = TimeSpan.FromSeconds(run.Options.ModelTurnTimeoutSeconds);
        using var turnTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        turnTimeout.CancelAfter(turn);
        using var idleTimeout = CancellationTokenSource.CreateLinkedTokenSource(turnTimeout.Token);
        idleTimeout.CancelAfter(idle);

        await using var enumerator = client.GetStreamingResponseAsync(messages, callOptions, idleTimeout.Token).GetAsyncEnumerator(idleTimeout.Token);
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
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Our own timeouts, not a cancel: the turn may be tried again.
                var reason = turnTimeout.IsCancellationRequested
                    ? $"{brain} {model} did not finish its turn within {turn.TotalSeconds:0} s (Agent:ModelTurnTimeoutSeconds)"
                    : $"{brain} {model} sent nothing for {idle.TotalSeconds:0} s (Agent:ModelIdleTimeoutSeconds)";
                await CountFailureAsync(brain, reason, cancellationToken);
                throw new ModelTimeoutException(reason);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (ModelErrors.IsTransient(ex))
                {
                    await CountFailureAsync(brain, ex.Message, cancellationToken);
                }
                throw;
            }
            idleTimeout.CancelAfter(idle);
            _consecutiveFailures = 0;
            yield return update;
        }
    }

    /// <summary>After <c>Agent:FallbackAfterFailures</c> transient failures in a row, the next configured real provider takes over.</summary>
    private async Task CountFailureAsync(string brain, string error, CancellationToken ct)
    {
        if (run.Options.FallbackAfterFailures <= 0 || ++_consecutiveFailures < run.Options.FallbackAfterFailures)
        {
            return;
        }
        if (brain == BrainNames.Replay)
        {
            return; // a replay answers from its recording; no provider can stand in for it
        }
        var real = brains.Settings.ConfiguredBrains().Where(b => b != BrainNames.Offline).ToList();
        var next = real.SkipWhile(b => b != brain).Skip(1).FirstOrDefault() ?? real.FirstOrDefault(b => b != brain);
        if (next is null)
        {
            logger.LogWarning("Task {TaskId}: {Brain} failed {Count} times in a row and no other provider is configured", run.TaskId, brain, _consecutiveFailures);
            return;
        }
        _consecutiveFailures = 0;
        await run.SwitchBrainAsync(next, brains.Settings.For(next).Model,
            $"{brain} failed {run.Options.FallbackAfterFailures} times in a row ({error}); task {run.TaskId} falls back to {next}.", ct);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>A task from WhatsApp or e-mail with no real model to answer it: it waits for one instead of a scripted reply.</summary>
public sealed class NoModelException() : Exception(
    "No model is configured, and the scripted offline brain never answers a WhatsApp or e-mail sender. " +
    "Set an OpenAI or Gemini key (dotnet user-secrets set Parameters:openai-api-key … in Osiris.AppHost) and restart; the task continues then.");
