using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Osiris.Agent.Intake;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Loop;

/// <summary>
/// The function invoker of a task's <see cref="FunctionInvokingChatClient"/>: every tool call goes to the MCP server,
/// and around it the loop makes itself visible — tool_call and tool_result messages, artifact_stream for written
/// files, terminal_log lines while a command runs — waits for approval when the task asks for it, turns failures into
/// an instruction to correct, and hands over messages a person wrote meanwhile.
/// </summary>
public sealed class ToolInvoker(TaskRun run, TaskSignal signal, ILogger logger)
{
    private static readonly HashSet<string> NeedApproval = ["run_command", "write_file"];
    private const string CorrectionInstruction =
        "\n\nThis step failed. Read the error above, find its cause, correct it (fix the file or the command) and try again. Keep going until it works.";

    public async ValueTask<object?> InvokeAsync(FunctionInvocationContext context, CancellationToken ct)
    {
        var name = context.Function.Name;
        var callId = context.CallContent.CallId;
        var arguments = new Dictionary<string, object?>(context.Arguments);
        var argumentsJson = JsonSerializer.SerializeToElement(arguments, OsirisJson.Options);

        await StoreAsync("assistant", "tool_call", $"{name} {argumentsJson}", new { callId, name, arguments = argumentsJson }, ct);

        string text;
        if (run.RequireApproval && NeedApproval.Contains(name) && !await ApprovedAsync(name, argumentsJson, ct))
        {
            text = $"The person denied this {name} call. Do not repeat it; choose another way or explain what you need.";
        }
        else if (context.Function is McpClientTool tool)
        {
            text = await CallAsync(tool, name, callId, arguments, ct);
        }
        else
        {
            text = $"Unknown tool {name}.";
        }

        text += await InboxAsync(ct);
        await StoreAsync("tool", "tool_result", text.Length <= 8000 ? text : text[..8000] + "\n[truncated]", new { callId, name, result = text }, ct);
        return text;
    }

    private async Task<string> CallAsync(McpClientTool tool, string name, string callId, Dictionary<string, object?> arguments, CancellationToken ct)
    {
        var command = arguments.TryGetValue("command", out var c) ? c?.ToString() ?? "" : "";
        var lines = Channel.CreateUnbounded<ProgressNotificationValue>(new UnboundedChannelOptions { SingleReader = true });
        var shown = new HashSet<int>();
        var terminal = name == "run_command" ? PumpTerminalAsync(lines.Reader, shown, callId, command, ct) : Task.CompletedTask;
        CallToolResult result;
        try
        {
            result = await tool.CallAsync(arguments, new SyncProgress(lines.Writer), cancellationToken: ct);
        }
        catch (McpException ex)
        {
            return $"The tool {name} failed: {ex.Message}{CorrectionInstruction}";
        }
        finally
        {
            lines.Writer.TryComplete();
            await terminal;
        }

        var text = string.Join('\n', result.Content.OfType<TextContentBlock>().Select(b => b.Text));
        var structured = result.StructuredContent;
        var failed = result.IsError == true;
        if (name == "run_command")
        {
            int? exitCode = structured is { } s && s.TryGetProperty("exitCode", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : null;
            long? duration = structured is { } d && d.TryGetProperty("durationMs", out var ms) && ms.ValueKind == JsonValueKind.Number ? ms.GetInt64() : null;
            failed |= exitCode is not 0;
            await PublishMissedLinesAsync(structured, shown, callId, command, ct);
            await run.PublishAsync(EventTypes.TerminalLog, new TerminalLogPayload(callId, command, "stdout", "", exitCode ?? -1, duration ?? 0), ct);
        }
        else if (name == "write_file" && !failed && structured is { } written)
        {
            await RecordArtifactAsync(written, ct);
        }
        return failed ? text + CorrectionInstruction : text;
    }

    /// <summary>
    /// Publishes output lines in the order the command printed them: progress notifications may arrive out of order,
    /// so they are put back in sequence by their progress number (the server counts lines from 1).
    /// </summary>
    private async Task PumpTerminalAsync(ChannelReader<ProgressNotificationValue> lines, HashSet<int> shown, string commandId, string command,
        CancellationToken ct)
    {
        var waiting = new SortedDictionary<double, ProgressNotificationValue>();
        double next = 1;
        await foreach (var line in lines.ReadAllAsync(CancellationToken.None))
        {
            shown.Add((int)line.Progress);
            waiting[line.Progress] = line;
            while (waiting.Remove(next, out var ready))
            {
                await PublishLineAsync(ready, commandId, command, ct);
                next++;
            }
        }
        foreach (var late in waiting.Values)
        {
            await PublishLineAsync(late, commandId, command, ct);
        }
    }

    /// <summary>
    /// A progress notification can reach the client after the call's result, and is then dropped; the result's
    /// output holds every line in the same order (line n is progress n), so the terminal shows the ones it missed.
    /// </summary>
    private async Task PublishMissedLinesAsync(JsonElement? structured, HashSet<int> shown, string commandId, string command, CancellationToken ct)
    {
        if (structured is not { } s || !s.TryGetProperty("output", out var output) || output.ValueKind != JsonValueKind.String)
        {
            return;
        }
        var all = output.GetString()!.Split('\n');
        for (var i = 0; i < all.Length; i++)
        {
            if (!shown.Contains(i + 1) && (i < all.Length - 1 || all[i].Length > 0))
            {
                await PublishLineAsync(new ProgressNotificationValue { Progress = i + 1, Message = all[i] }, commandId, command, ct);
            }
        }
    }

    private async Task PublishLineAsync(ProgressNotificationValue line, string commandId, string command, CancellationToken ct)
    {
        var message = line.Message ?? "";
        var stderr = message.StartsWith("[stderr] ", StringComparison.Ordinal);
        try
        {
            await run.PublishAsync(EventTypes.TerminalLog,
                new TerminalLogPayload(commandId, command, stderr ? "stderr" : "stdout", stderr ? message[9..] : message), ct);
        }
        catch (OperationCanceledException)
        {
            // Cancelled with the task: the remaining lines no longer matter.
        }
    }

    private async Task RecordArtifactAsync(JsonElement written, CancellationToken ct)
    {
        var path = written.GetProperty("path").GetString()!;
        var diff = written.TryGetProperty("diff", out var d) ? d.GetString() ?? "" : "";
        var size = written.TryGetProperty("size", out var s) ? s.GetInt64() : 0;
        await run.WriteAsync(async (db, publisher) =>
        {
            var version = (await db.Artifacts.Where(a => a.TaskId == run.TaskId && a.Path == path).MaxAsync(a => (int?)a.Version, ct) ?? 0) + 1;
            db.Artifacts.Add(new ArtifactRecord { TaskId = run.TaskId, Path = path, Version = version, Diff = diff, Size = size, CreatedAt = run.Now });
            await publisher.PublishAsync(db, EventTypes.ArtifactStream, run.TaskId, new ArtifactStreamPayload(path, diff, version, size), ct);
        });
    }

    /// <summary>Stores the request, sets the task awaiting approval, and waits for a person's decision.</summary>
    private async Task<bool> ApprovedAsync(string tool, JsonElement arguments, CancellationToken ct)
    {
        var approval = new ApprovalRecord
        {
            Id = Guid.CreateVersion7(), TaskId = run.TaskId, Tool = tool, Arguments = arguments.GetRawText(), Status = "pending", CreatedAt = run.Now,
        };
        await run.WriteAsync(async (db, publisher) =>
        {
            db.Approvals.Add(approval);
            var task = await db.Tasks.SingleAsync(t => t.Id == run.TaskId, ct);
            task.Status = TaskStatuses.AwaitingApproval;
            task.UpdatedAt = run.Now;
            await publisher.PublishAsync(db, [TaskRun.TaskUpdate(task, new ApprovalRequest(approval.Id.ToString(), tool, arguments))], ct);
        });
        logger.LogInformation("Task {TaskId} awaits approval {ApprovalId} for {Tool}", run.TaskId, approval.Id, tool);
        while (true)
        {
            var status = await run.ReadAsync(db => db.Approvals.AsNoTracking().Where(a => a.Id == approval.Id).Select(a => a.Status).SingleAsync(ct));
            if (status != "pending")
            {
                return status == "approved";
            }
            await signal.WaitAsync(TimeSpan.FromSeconds(2), ct);
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Messages a person wrote since the model last saw the conversation, appended to this tool result.</summary>
    private async Task<string> InboxAsync(CancellationToken ct)
    {
        var fresh = await TaskRunner.ReadNewPersonMessagesAsync(run, ct);
        return fresh.Count == 0 ? "" : string.Concat(fresh.Select(m => $"\n\n[The person wrote while you worked: \"{m.Text}\"]"));
    }

    private Task StoreAsync(string role, string kind, string text, object data, CancellationToken ct)
    {
        var message = new MessageRecord
        {
            Id = Guid.CreateVersion7(), TaskId = run.TaskId, Role = role, Kind = kind, Text = text, Model = run.Model, CreatedAt = run.Now,
            Data = JsonSerializer.Serialize(data, OsirisJson.Options),
        };
        return run.StoreMessageAsync(message, new NewMessagePayload(message.Id, role, kind, text, Delta: null, Final: true, Model: run.Model), ct);
    }

    /// <summary>Reports progress on the caller's thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(ChannelWriter<ProgressNotificationValue> writer) : IProgress<ProgressNotificationValue>
    {
        public void Report(ProgressNotificationValue value) => writer.TryWrite(value);
    }
}
