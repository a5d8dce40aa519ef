using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Osiris.Agent.Brains;
using Osiris.Agent.Intake;
using Osiris.Agent.Tools;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Loop;

/// <summary>
/// Runs one claimed task: a visible plan first, then model turns with MCP tools until the model gives its final
/// answer, which becomes the task's result. The conversation is rebuilt from stored messages, so a task taken over
/// from a dead worker continues where it was without repeating recorded tool calls.
/// </summary>
public sealed class TaskRunner(
    IServiceScopeFactory scopes,
    BrainFactory brains,
    McpToolbox toolbox,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<TaskRunner>();

    public async Task RunAsync(Guid taskId, TaskSignal signal, CancellationToken ct)
    {
        var run = new TaskRun(taskId, options.Value, brains.Settings, scopes, time);
        var task = await run.LoadAsync(ct);
        if (task.Status != TaskStatuses.Running && task.Status != TaskStatuses.AwaitingApproval)
        {
            return;
        }
        try
        {
            await run.CurrentBrainAsync(ct);
            await run.UpdateTaskAsync(t => t.Status = TaskStatuses.Running, ct);
            _logger.LogInformation("Task {TaskId} runs on {Brain} ({Model})", taskId, run.Brain, run.Model);

            var (mcp, tools) = await toolbox.ConnectAsync(taskId, ct);
            await using var _ = mcp;
            var invoker = new ToolInvoker(run, signal, _logger);
            using var pipeline = new ChatClientBuilder(new BrainRouterChatClient(run, brains, _logger))
                .UseFunctionInvocation(loggers, f =>
                {
                    f.FunctionInvoker = invoker.InvokeAsync;
                    f.MaximumIterationsPerRequest = options.Value.MaxSteps;
                    f.AllowConcurrentInvocation = false;
                })
                .Use(inner => new AgentTurnChatClient(inner, run))
                .Build();

            var history = await RebuildHistoryAsync(run, task, tools, ct);
            if (!history.Any(m => m.Role == ChatRole.Assistant && m.AdditionalProperties?.ContainsKey("plan") == true))
            {
                var planOptions = new ChatOptions { AdditionalProperties = new() { [AgentTurnChatClient.KindProperty] = "plan" } };
                var plan = await pipeline.GetResponseAsync(
                    [.. history, new ChatMessage(ChatRole.User, "Before you start, write a short numbered plan (at most 6 steps). Do not call tools yet.")],
                    planOptions, ct);
                history.Add(new ChatMessage(ChatRole.Assistant, plan.Text));
            }

            var chatOptions = new ChatOptions
            {
                Tools = [.. tools],
                ToolMode = ChatToolMode.Auto,
                AdditionalProperties = new() { [AgentTurnChatClient.KindProperty] = "text" },
            };
            var failures = 0;
            while (true)
            {
                ChatResponse response;
                try
                {
                    response = await pipeline.GetResponseAsync(history, chatOptions, ct);
                    failures = 0;
                }
                catch (Exception ex) when (ex is not (OperationCanceledException or BudgetExceededException) && ++failures <= options.Value.FallbackAfterFailures + 1)
                {
                    _logger.LogWarning("Task {TaskId}: model call failed ({Error}); retry {Attempt}", taskId, ex.Message, failures);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * Math.Pow(2, failures)), time, ct);
                    // Tool calls made before the failure are stored, not in this list: rebuild so none is repeated.
                    history = await RebuildHistoryAsync(run, task, tools, ct);
                    continue;
                }
                history.AddRange(response.Messages);

                var inbox = await ReadNewPersonMessagesAsync(run, ct);
                if (inbox.Count > 0)
                {
                    history.AddRange(inbox.Select(m => new ChatMessage(ChatRole.User, m.Text)));
                    continue;
                }
                var unanswered = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()
                    .Any(call => !response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Any(r => r.CallId == call.CallId));
                if (unanswered)
                {
                    throw new BudgetExceededException($"the step limit of {options.Value.MaxSteps} model turns was reached");
                }

                var answer = response.Messages.LastOrDefault(m => m.Role == ChatRole.Assistant && !string.IsNullOrWhiteSpace(m.Text))?.Text ?? "(no answer)";
                await run.UpdateTaskAsync(t => { t.Status = TaskStatuses.Completed; t.Result = answer; t.LeaseOwner = null; }, ct);
                _logger.LogInformation("Task {TaskId} completed after {Steps} steps, {Tokens} tokens, ${Cost}", taskId, run.Step, run.Tokens, run.CostUsd);
                return;
            }
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
        catch (Exception ex)
        {
            var reason = ex is BudgetExceededException ? $"Stopped: {ex.Message}." : $"Failed: {ex.Message}";
            _logger.LogWarning(ex, "Task {TaskId} failed: {Reason}", taskId, reason);
            try
            {
                await run.UpdateTaskAsync(t => { t.Status = TaskStatuses.Failed; t.Result = reason; t.LeaseOwner = null; }, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                // Closed meanwhile; nothing to record.
            }
        }
    }

    private async Task<List<ChatMessage>> RebuildHistoryAsync(TaskRun run, TaskRecord task, IList<ModelContextProtocol.Client.McpClientTool> tools, CancellationToken ct)
    {
        var history = new List<ChatMessage>
        {
            new(ChatRole.System,
                "You are OSIRIS, an autonomous agent working on one task. Your workspace is the task's own folder on the OSIRIS MCP " +
                "server; every path is relative to it. Your tools: " + string.Join(", ", tools.Select(t => t.Name)) + ". " +
                "Work step by step: inspect, change files, run commands (sandboxed, no network), read errors and fix them until the " +
                "work is done. Finish with a concise final report for the person, without a tool call."),
            new(ChatRole.User, $"Task: {task.Title}\n\n{task.Description}"),
        };

        var stored = await run.ReadAsync(db => db.Messages.AsNoTracking().Where(m => m.TaskId == task.Id).OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).ToListAsync(ct));
        var answered = new HashSet<string>();
        foreach (var message in stored)
        {
            switch (message.Kind, message.Role)
            {
                case ("tool_call", _) when message.Data is not null:
                    var call = JsonDocument.Parse(message.Data).RootElement;
                    var arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>(call.GetProperty("arguments").GetRawText());
                    history.Add(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(call.GetProperty("callId").GetString()!, call.GetProperty("name").GetString()!, arguments)]));
                    break;
                case ("tool_result", _) when message.Data is not null:
                    var result = JsonDocument.Parse(message.Data).RootElement;
                    var callId = result.GetProperty("callId").GetString()!;
                    answered.Add(callId);
                    history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, result.GetProperty("result").GetString())]));
                    break;
                case (_, "user"):
                    run.SeenMessages.Add(message.Id);
                    history.Add(new ChatMessage(ChatRole.User, message.Text));
                    break;
                case ("plan", "assistant"):
                    history.Add(new ChatMessage(ChatRole.Assistant, message.Text) { AdditionalProperties = new() { ["plan"] = true } });
                    break;
                case ("text", "assistant"):
                    history.Add(new ChatMessage(ChatRole.Assistant, message.Text));
                    break;
            }
        }

        // A call whose worker died before it finished has no result; say so rather than repeat it blindly.
        foreach (var call in history.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Where(c => !answered.Contains(c.CallId)).ToList())
        {
            var index = history.FindIndex(m => m.Contents.Contains(call));
            history.Insert(index + 1, new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId,
                "The worker stopped before this call finished; its effect is unknown. Check the workspace before repeating it.")]));
        }
        return history;
    }

    /// <summary>Person messages stored since the model last saw the conversation (each is handed over once).</summary>
    public static async Task<List<MessageRecord>> ReadNewPersonMessagesAsync(TaskRun run, CancellationToken ct)
    {
        var messages = await run.ReadAsync(db => db.Messages.AsNoTracking()
            .Where(m => m.TaskId == run.TaskId && m.Role == "user").OrderBy(m => m.CreatedAt).ToListAsync(ct));
        return messages.Where(m => run.SeenMessages.Add(m.Id)).ToList();
    }
}
