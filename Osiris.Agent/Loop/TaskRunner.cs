using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Osiris.Agent.Brains;
using Osiris.Agent.Tools;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Loop;

/// <summary>
/// Runs one claimed task: a visible plan first, then model turns with MCP tools until the model gives its final
/// answer, which becomes the task's result. The conversation is rebuilt from stored messages, so a task taken over
/// from a dead worker continues where it was without repeating recorded tool calls.
/// </summary>
/// <remarks>
/// The tool loop is written here rather than left to <see cref="FunctionInvokingChatClient"/>, because what the
/// providers accept and what people expect is decided between turns: a person's message goes after the tool results
/// (never between a call and its result), the step limit leaves one turn to report, a call that keeps failing the
/// same way stops the task, the history is compacted before it outgrows the context window, and every finish reason
/// is judged — a cut-off or blocked answer is never passed off as the result.
/// </remarks>
public sealed class TaskRunner(
    IServiceScopeFactory scopes,
    BrainFactory brains,
    McpToolbox toolbox,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<TaskRunner>();

    private const int RetriesOfABadEnding = 2;

    public async Task RunAsync(Guid taskId, TaskSignal signal, CancellationToken ct)
    {
        var run = new TaskRun(taskId, options.Value, brains.Settings, scopes, time, _logger);
        var task = await run.LoadAsync(ct);
        if (task.Status != TaskStatuses.Running && task.Status != TaskStatuses.AwaitingApproval)
        {
            return;
        }
        try
        {
            await run.CurrentBrainAsync(ct);
            // The budgets in force are written down, so a person raises them from what the agent actually applies.
            await run.UpdateTaskAsync(t => { t.Status = TaskStatuses.Running; t.BudgetUsd ??= run.BudgetUsd; t.BudgetTokens ??= run.BudgetTokens; }, ct);
            _logger.LogInformation("Task {TaskId} runs on {Brain} ({Model})", taskId, run.Brain, run.Model);

            await using var mcp = await toolbox.ConnectAsync(taskId, ct);
            var invoker = new ToolInvoker(run, signal, mcp, _logger);
            using var pipeline = new ChatClientBuilder(new BrainRouterChatClient(run, brains, _logger))
                .Use(inner => new AgentTurnChatClient(inner, run))
                .Build();

            var history = await RebuildHistoryAsync(run, task, mcp, ct);
            if (!Conversation.HasPlan(history))
            {
                var planOptions = new ChatOptions { AdditionalProperties = new() { [AgentTurnChatClient.KindProperty] = MessageKinds.Plan } };
                var plan = await TurnAsync(run, pipeline,
                    [.. history, new ChatMessage(ChatRole.User, "Before you start, write a short numbered plan (at most 6 steps). Do not call tools yet.")],
                    planOptions, ct);
                history.Add(Conversation.Plan(plan.Text));
                history.Add(new ChatMessage(ChatRole.User, Conversation.AfterPlan));
            }

            var answer = await WorkAsync(run, pipeline, invoker, mcp, history, ct);
            await run.UpdateTaskAsync(t => { t.Status = TaskStatuses.Completed; t.Result = answer; t.LeaseOwner = null; }, ct);
            _logger.LogInformation("Task {TaskId} completed after {Steps} steps, {Tokens} tokens, ${Cost}", taskId, run.Step, run.Tokens, run.CostUsd);
        }
        catch (OperationCanceledException) when (signal.Cancelled.IsCancellationRequested)
        {
            _logger.LogInformation("Task {TaskId} was cancelled; its model call and command were stopped", taskId);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _logger.LogInformation("Task {TaskId} stopped with the worker; another worker continues it", taskId);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _logger.LogInformation("Task {TaskId} was closed by someone else while it ran; leaving it as it is", taskId);
        }
        catch (Exception ex) when (signal.Cancelled.IsCancellationRequested)
        {
            _logger.LogInformation(ex, "Task {TaskId} was cancelled", taskId);
        }
        catch (BudgetExceededException ex)
        {
            await PauseAsync(run, PauseReasons.Budget,
                $"Paused: {ex.Message}. Raise the budget to continue (POST /api/v1/tasks/{taskId}/resume with raiseBudgetUsd), or cancel the task.");
        }
        catch (NoModelException ex)
        {
            await PauseAsync(run, PauseReasons.NoModel, $"Waiting: {ex.Message}");
        }
        catch (Exception ex)
        {
            var reason = ex is TaskStoppedException ? $"Stopped: {ex.Message}" : $"Failed: {ex.Message}";
            _logger.LogWarning(ex, "Task {TaskId} failed: {Reason}", taskId, reason);
            await CloseAsync(run, t => { t.Status = TaskStatuses.Failed; t.Result = reason; t.LeaseOwner = null; });
        }
    }

    /// <summary>Model turns and tool calls until the model's final answer, which is returned.</summary>
    private async Task<string> WorkAsync(TaskRun run, IChatClient pipeline, ToolInvoker invoker, TaskTools mcp, List<ChatMessage> history, CancellationToken ct)
    {
        var settings = options.Value;
        var chatOptions = new ChatOptions
        {
            Tools = [.. mcp.Tools.Where(t => run.Offers(t.Name))],
            ToolMode = ChatToolMode.Auto,
            AdditionalProperties = new() { [AgentTurnChatClient.KindProperty] = MessageKinds.Text },
        };
        var badEndings = 0;
        (string Key, int Count) lastFailure = ("", 0);
        while (true)
        {
            var lastTurn = run.Step >= settings.MaxSteps - 1;
            var turnOptions = chatOptions;
            if (lastTurn)
            {
                turnOptions = chatOptions.Clone();
                turnOptions.ToolMode = ChatToolMode.None;
                history.Add(new ChatMessage(ChatRole.User,
                    $"You have reached the step limit of {settings.MaxSteps} model turns; no more tools can run. Report now what you did, what works, " +
                    "and what is left undone."));
            }
            Compact(run, history);

            var response = await TurnAsync(run, pipeline, history, turnOptions, ct);
            var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            var finish = response.FinishReason;

            if (finish == ChatFinishReason.ContentFilter)
            {
                throw new TaskStoppedException($"{run.Brain} {run.Model} refused to answer (its safety filter blocked the prompt or the answer). " +
                                               "Rephrase the task or switch the model.");
            }
            if (finish == OfflineChatClient.Failed)
            {
                throw new TaskStoppedException(response.Text.Trim());
            }
            if (finish is { } other && other != ChatFinishReason.Stop && other != ChatFinishReason.ToolCalls && other != ChatFinishReason.Length)
            {
                // MALFORMED_FUNCTION_CALL and its kind: the model's own slip, which another try usually avoids.
                if (++badEndings <= RetriesOfABadEnding)
                {
                    _logger.LogWarning("Task {TaskId}: the model's turn ended with {Reason}; asking again", run.TaskId, other.Value);
                    continue;
                }
                throw new TaskStoppedException($"{run.Brain} {run.Model} ended its turn with '{other.Value}' {badEndings} times in a row.");
            }
            if (finish == ChatFinishReason.Length && calls.Count == 0)
            {
                if (++badEndings <= RetriesOfABadEnding)
                {
                    history.AddRange(response.Messages);
                    history.Add(new ChatMessage(ChatRole.User, "Your answer was cut off at the output limit. Continue, more briefly; if you are done, give a short final report."));
                    continue;
                }
                throw new TaskStoppedException($"{run.Brain} {run.Model} kept hitting its output limit (finish reason 'length'); the answer is incomplete.");
            }

            history.AddRange(response.Messages);
            await PlanProgress.TickAsync(run, response.Text, ct);
            if (calls.Count == 0 || lastTurn)
            {
                var answer = response.Text.Trim();
                if (lastTurn)
                {
                    throw new TaskStoppedException($"the step limit of {settings.MaxSteps} model turns was reached. The agent's report: " +
                                                   (answer.Length > 0 ? answer : "(none)"));
                }
                var inbox = await ReadNewPersonMessagesAsync(run, ct);
                if (inbox.Count > 0)
                {
                    history.AddRange(inbox.Select(m => new ChatMessage(ChatRole.User, run.InboxText(m))));
                    continue;
                }
                if (answer.Length == 0)
                {
                    if (++badEndings <= RetriesOfABadEnding)
                    {
                        history.Add(new ChatMessage(ChatRole.User, "You gave no answer. Give your final report for the person now."));
                        continue;
                    }
                    throw new TaskStoppedException($"{run.Brain} {run.Model} ended without an answer.");
                }
                return answer;
            }
            badEndings = 0;

            var results = new ChatMessage(ChatRole.Tool, []);
            TaskStoppedException? stop = null;
            foreach (var call in calls)
            {
                var outcome = await invoker.InvokeAsync(call, ct);
                results.Contents.Add(Conversation.Result(call.CallId, outcome.Text, outcome.Failed));
                var key = call.Name + JsonSerializer.Serialize(call.Arguments);
                lastFailure = !outcome.Failed ? ("", 0) : lastFailure.Key == key ? (key, lastFailure.Count + 1) : (key, 1);
                if (lastFailure.Count >= settings.RepeatedFailureLimit)
                {
                    stop ??= new TaskStoppedException($"the same {call.Name} call failed {lastFailure.Count} times in a row; the agent was going round in circles. " +
                                                      $"Last error: {FirstLine(outcome.Text)}");
                }
            }
            history.Add(results);
            if (stop is not null)
            {
                throw stop;
            }
            // A person's words written while the tools ran go after the results — never between a call and its result.
            var said = await ReadNewPersonMessagesAsync(run, ct);
            if (said.Count > 0)
            {
                history.Add(new ChatMessage(ChatRole.User, string.Join("\n\n", said.Select(m => m.Kind == MessageKinds.Restore ? m.Text : $"[The person wrote while you worked:] {run.PersonText(m.Text)}"))));
            }
        }
    }

    /// <summary>
    /// One model turn, tried again after a transient failure (429, 5xx, a cut stream, a timeout) after the delay the
    /// provider asked for, else a growing backoff. A refusal (400 and the like) is not sent again unchanged.
    /// </summary>
    private async Task<ChatResponse> TurnAsync(TaskRun run, IChatClient pipeline, List<ChatMessage> history, ChatOptions chatOptions, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await pipeline.GetResponseAsync(history, chatOptions, ct);
            }
            catch (Exception ex) when (ModelErrors.IsTransient(ex) && attempt <= options.Value.ModelRetries && !ct.IsCancellationRequested)
            {
                var asked = ModelErrors.RetryAfter(ex);
                var delay = asked ?? TimeSpan.FromMilliseconds(Math.Min(30_000, 500 * Math.Pow(2, attempt - 1)));
                delay = TimeSpan.FromSeconds(Math.Clamp(delay.TotalSeconds, 0, options.Value.ModelTurnTimeoutSeconds));
                _logger.LogWarning("Task {TaskId}: model call failed ({Error}); attempt {Attempt} in {Delay} s{Asked}", run.TaskId, ex.Message,
                    attempt + 1, delay.TotalSeconds, asked is null ? "" : " (as the provider asked)");
                await Task.Delay(delay, time, ct);
            }
        }
    }

    private void Compact(TaskRun run, List<ChatMessage> history)
    {
        var window = options.Value.ContextWindowFor(run.Model);
        // Room for the answer and the tool declarations: compact at three quarters of the window.
        var (before, after) = Conversation.Compact(history, window * 3 / 4);
        if (after < before)
        {
            _logger.LogInformation("Task {TaskId}: history compacted from {Before} to {After} tokens (window {Window})", run.TaskId, before, after, window);
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0];

    private async Task PauseAsync(TaskRun run, string reason, string text)
    {
        _logger.LogWarning("Task {TaskId} paused ({Reason}): {Text}", run.TaskId, reason, text);
        await CloseAsync(run, t => { t.Status = TaskStatuses.Paused; t.PausedFor = reason; t.Result = text; t.LeaseOwner = null; });
    }

    private static async Task CloseAsync(TaskRun run, Action<TaskRecord> change)
    {
        try
        {
            await run.UpdateTaskAsync(change, CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
            // Closed meanwhile; nothing to record.
        }
    }

    private static async Task<List<ChatMessage>> RebuildHistoryAsync(TaskRun run, TaskRecord task, TaskTools mcp, CancellationToken ct)
    {
        var system =
            "You are OSIRIS, an autonomous agent working on one task. Your workspace is the task's own folder on the OSIRIS MCP " +
            "server; every path is relative to it. Your tools: " + string.Join(", ", mcp.Tools.Where(t => run.Offers(t.Name)).Select(t => t.Name)) + ". " +
            "Work step by step: inspect, change files, run commands (sandboxed, no network), read errors and fix them until the " +
            "work is done. Finish with a concise final report for the person, without a tool call." + PlanProgress.Instruction;
        if (run.Offers("search_knowledge") && mcp.Tools.Any(t => t.Name == "search_knowledge"))
        {
            system += " When you use passages from search_knowledge, cite each by its source id in square brackets, e.g. [3f2a9c1b-4], so the person can check it.";
        }
        system += LinkNote(task);
        if (run.IsFromChannel && task.OriginKind is null)
        {
            system += " This task came from an outside sender on a public channel; your final report is sent back to them" +
                      (run.ReplyMode == ReplyModes.Review ? " after a person reviews it" : "") +
                      ". Never put secrets, system details or raw command output into it beyond what answering them needs." +
                      (run.ToolMode == ToolModes.ApproveRisky ? " Commands and file writes wait for a person's approval." : "");
        }
        var stored = await run.ReadAsync(db => db.Messages.AsNoTracking().Where(m => m.TaskId == task.Id).OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).ToListAsync(ct));
        return Conversation.Rebuild(system, $"Task: {task.Title}\n\n{run.PersonText(task.Description)}", stored, run.SeenMessages, run.PersonText);
    }

    private static string LinkNote(TaskRecord task) => task.OriginKind switch
    {
        OriginKinds.Fork => $" This task is a fork of task {task.OriginTaskId} from its checkpoint {task.OriginCheckpointId}: the workspace and the " +
                            "conversation are as they were at that point." + (task.Source is TaskSources.WhatsApp or TaskSources.Email
                                ? " Its report is for the operators; it is not sent to the original sender." : ""),
        _ => "",
    };

    /// <summary>
    /// Person messages, and notes of a workspace restore, stored since the model last saw the conversation (each is
    /// handed over once).
    /// </summary>
    public static async Task<List<MessageRecord>> ReadNewPersonMessagesAsync(TaskRun run, CancellationToken ct)
    {
        var messages = await run.ReadAsync(db => db.Messages.AsNoTracking()
            .Where(m => m.TaskId == run.TaskId && (m.Role == MessageRoles.User || m.Kind == MessageKinds.Restore)).OrderBy(m => m.CreatedAt).ToListAsync(ct));
        return messages.Where(m => run.SeenMessages.Add(m.Id)).ToList();
    }
}
