using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Osiris.Agent.Tools;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Loop;

/// <summary>What a tool call gave the model, and whether it failed (the loop stops a call that keeps failing the same way).</summary>
/// <param name="Hits">For a knowledge search, the passages found (as the tool returned them), so the chat can show the sources.</param>
/// <param name="Checkpoint">The workspace checkpoint the call made (<c>{id, files, changed}</c>), when it changed files.</param>
public sealed record ToolOutcome(string Text, bool Failed, JsonElement? Hits = null, JsonElement? Checkpoint = null);

/// <summary>
/// Runs the model's tool calls on the MCP server and makes each visible — tool_call and tool_result messages,
/// artifact_stream for written files, terminal_log lines while a command runs — waits for approval when the task
/// asks for it, and tells the model plainly what failed: "correct it and try again" only where a change can help.
/// </summary>
public sealed class ToolInvoker(TaskRun run, TaskSignal signal, TaskTools mcp, ILogger logger)
{
    private static readonly HashSet<string> NeedApproval = ["run_command", "write_file"];
    private const string CorrectionInstruction =
        "\n\nThis step failed. Read the error above, find its cause, correct it (fix the file or the command) and try again.";

    public async Task<ToolOutcome> InvokeAsync(FunctionCallContent call, CancellationToken ct)
    {
        var name = call.Name;
        var arguments = new Dictionary<string, object?>(call.Arguments ?? new Dictionary<string, object?>());
        var argumentsJson = JsonSerializer.SerializeToElement(arguments, OsirisJson.Options);

        await StoreAsync(MessageRoles.Assistant, MessageKinds.ToolCall, $"{name} {argumentsJson}", new { callId = call.CallId, name, arguments = argumentsJson, step = run.Step }, ct);

        ToolOutcome outcome;
        if (!run.Offers(name) || mcp.Tools.All(t => t.Name != name))
        {
            outcome = new ToolOutcome($"There is no tool named '{name}'. The tools are: {string.Join(", ", mcp.Tools.Where(t => run.Offers(t.Name)).Select(t => t.Name))}.", true);
        }
        else if (run.ToolMode == ToolModes.ApproveRisky && NeedApproval.Contains(name)
                 && !await ApprovedAsync(name, argumentsJson, name == "write_file" ? await PreviewAsync(arguments, ct) : null, ct))
        {
            outcome = new ToolOutcome($"The person denied this {name} call. Do not repeat it; choose another way or explain what you need.", true);
        }
        else
        {
            outcome = await CallAsync(name, call.CallId, arguments, ct);
        }
        if (name == "write_file" && outcome.Failed && arguments.TryGetValue("path", out var path))
        {
            await run.PublishAsync(EventTypes.ArtifactStream,
                new ArtifactStreamPayload(path?.ToString() ?? "", "", 0, 0, Partial: true, CallId: call.CallId, Discarded: true), ct);
        }

        var text = Cap(outcome.Text, run.Options.MaxToolOutputChars);
        await StoreAsync(MessageRoles.Tool, MessageKinds.ToolResult, text.Length <= 8000 ? text : text[..8000] + "\n[shortened for display]",
            new { callId = call.CallId, name, result = text, failed = outcome.Failed, hits = outcome.Hits, checkpoint = outcome.Checkpoint }, ct,
            published: outcome.Hits is { } hits ? JsonSerializer.SerializeToElement(new { name, hits }, OsirisJson.Options) : null);
        return outcome with { Text = text };
    }

    /// <summary>
    /// Keeps the head and the tail of a long output (where commands print what matters) and says what was cut and how
    /// to read it; the model's context and the bill do not grow with a command's noise.
    /// </summary>
    public static string Cap(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }
        var head = max * 2 / 3;
        var tail = max - head;
        var cut = text.Length - head - tail;
        return $"{text[..head]}\n\n[… {cut:N0} characters cut from the middle of this output ({text.Length:N0} in all). To see them, " +
               "write the output to a file (command > out.txt) and read parts with read_file startLine/endLine, or narrow it with head, tail or grep.]\n\n" +
               text[^tail..];
    }

    private async Task<ToolOutcome> CallAsync(string name, string callId, Dictionary<string, object?> arguments, CancellationToken ct)
    {
        var command = arguments.TryGetValue("command", out var c) ? c?.ToString() ?? "" : "";
        var terminal = name == "run_command" ? new TerminalCard(run, callId, command, ct) : null;
        CallToolResult result;
        try
        {
            var meta = new System.Text.Json.Nodes.JsonObject { [CheckpointMeta.Step] = run.Step, [CheckpointMeta.CallId] = callId };
            result = await mcp.CallAsync(name, arguments, terminal ?? (IProgress<ProgressNotificationValue>)NoProgress.Instance, ct, meta);
        }
        catch (Exception ex) when (ex is McpException or HttpRequestException or IOException or ObjectDisposedException && !ct.IsCancellationRequested)
        {
            logger.LogWarning("Task {TaskId}: the tool call {Tool} ({CallId}) failed on the tool server: {Error}", run.TaskId, name, callId, ex.Message);
            if (terminal is not null)
            {
                await terminal.EndAsync(null, null, $"[the tool call failed: {ex.Message}]");
            }
            return new ToolOutcome(TaskTools.NeverReached(ex)
                ? $"The tool {name} could not be called: {ex.Message}. This is a problem of the tool server, not of your call; " +
                  "try again later or continue without it."
                : $"The connection to the tool server broke while {name} ran ({ex.Message}). It is unknown whether the call took effect: " +
                  "check the workspace (list_dir, read_file) before you repeat it. This is a problem of the tool server, not of your call.", true);
        }
        catch when (terminal is not null)
        {
            // Cancelled (or thrown) while the command ran: the card still gets its end.
            await terminal.EndAsync(null, null, "[stopped]");
            throw;
        }

        var text = string.Join('\n', result.Content.OfType<TextContentBlock>().Select(b => b.Text));
        JsonElement? checkpoint = result.Meta?[CheckpointMeta.Checkpoint] is { } made ? JsonSerializer.SerializeToElement(made) : null;
        var structured = result.StructuredContent;
        var errorKind = structured is { } e && e.TryGetProperty("errorKind", out var k) ? k.GetString() : null;
        if (terminal is not null)
        {
            int? exitCode = structured is { } s && s.TryGetProperty("exitCode", out var x) && x.ValueKind == JsonValueKind.Number ? x.GetInt32() : null;
            long? duration = structured is { } d && d.TryGetProperty("durationMs", out var ms) && ms.ValueKind == JsonValueKind.Number ? ms.GetInt64() : null;
            var output = structured is { } o && o.TryGetProperty("output", out var op) && op.ValueKind == JsonValueKind.String ? op.GetString() : null;
            await terminal.EndAsync(exitCode, duration, output ?? (result.IsError == true ? text : null), fromResult: output is not null);
            return Judge(text, structured, errorKind, exitCode) with { Checkpoint = checkpoint };
        }
        if (result.IsError == true)
        {
            return Judge(text, structured, errorKind, null);
        }
        if (name == "write_file" && structured is { } written)
        {
            await RecordArtifactAsync(written, ct);
        }
        var hits = name == "search_knowledge" && structured is { } found && found.TryGetProperty("results", out var results) ? results.Clone() : (JsonElement?)null;
        return new ToolOutcome(text, false, hits, checkpoint);
    }

    /// <summary>Says what kind of failure it was, so the model does not "fix" what no change of its own can fix.</summary>
    private static ToolOutcome Judge(string text, JsonElement? structured, string? errorKind, int? exitCode)
    {
        bool Flag(string property) => structured is { } s && s.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.True;
        return errorKind switch
        {
            "sandbox_unavailable" => new(text + "\n\nCommands cannot run on this OSIRIS server (its sandbox is not available). Do not call run_command " +
                                         "again; finish what you can without running commands and say plainly in your report that nothing was run.", true),
            "refused" => new(text + "\n\nThis was refused by OSIRIS's safety rules. Do not repeat it or try to get around it; choose another way " +
                                 "or explain in your report what you could not do.", true),
            _ when Flag("timedOut") => new(text + "\n\nThe command hit its time limit and was stopped. Running it again unchanged will time out " +
                                           "again: make it do less, or pass a larger timeoutSeconds (at most 600).", true),
            _ when Flag("outputTruncated") => new(text + "\n\nThe command printed more than the output cap and was stopped there. Run it so that it " +
                                                  "prints less (head, tail, grep, or redirect to a file and read parts of it).", true),
            "invalid" => new(text + CorrectionInstruction, true),
            _ when exitCode is not (0 or null) => new(text + CorrectionInstruction, true),
            _ => new(text, false),
        };
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

    /// <summary>
    /// Stores the request, sets the task awaiting approval — unless it was closed meanwhile (a cancel is never undone) —
    /// and waits for a person's decision.
    /// </summary>
    private async Task<bool> ApprovedAsync(string tool, JsonElement arguments, string? preview, CancellationToken ct)
    {
        var approval = new ApprovalRecord
        {
            Id = Guid.CreateVersion7(), TaskId = run.TaskId, Tool = tool, Arguments = arguments.GetRawText(), Status = ApprovalStatuses.Pending, CreatedAt = run.Now,
        };
        await run.WriteAsync(async (db, publisher) =>
        {
            var task = await db.Tasks.SingleAsync(t => t.Id == run.TaskId, ct);
            if (!TaskStatuses.IsOpen(task.Status))
            {
                throw new OperationCanceledException($"Task {run.TaskId} is {task.Status}.");
            }
            db.Approvals.Add(approval);
            task.Status = TaskStatuses.AwaitingApproval;
            task.UpdatedAt = run.Now;
            await publisher.PublishAsync(db,
            [
                TaskRun.TaskUpdate(task, new ApprovalRequest(approval.Id.ToString(), tool, arguments, preview)),
                // Whoever has the dashboard open hears of it, not only who has this task open.
                new EventDraft(EventTypes.SystemNotification, task.Id, new SystemNotificationPayload(NotificationLevels.Warning,
                    $"\"{task.Title}\" waits for your approval to {(tool == "write_file" ? "write a file" : tool == "run_command" ? "run a command" : tool)}.")),
            ], ct);
        });
        logger.LogInformation("Task {TaskId} awaits approval {ApprovalId} for {Tool}", run.TaskId, approval.Id, tool);
        signal.BeginWaitingForPerson();
        try
        {
            while (true)
            {
                var status = await run.ReadAsync(db => db.Approvals.AsNoTracking().Where(a => a.Id == approval.Id).Select(a => a.Status).SingleAsync(ct));
                if (status != ApprovalStatuses.Pending)
                {
                    return status == ApprovalStatuses.Approved;
                }
                await signal.WaitAsync(TimeSpan.FromSeconds(2), ct);
                ct.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            signal.EndWaitingForPerson();
        }
    }

    /// <summary>
    /// The change a <c>write_file</c> would make, as a diff against the file now (the server's dry run), so the person
    /// judges the change, not escaped JSON; null when the server cannot say (the real call then reports why).
    /// </summary>
    private async Task<string?> PreviewAsync(Dictionary<string, object?> arguments, CancellationToken ct)
    {
        try
        {
            var result = await mcp.CallAsync("write_file", new Dictionary<string, object?>(arguments) { ["dryRun"] = true }, NoProgress.Instance, ct);
            return result.IsError is not true && result.StructuredContent is { } structured && structured.TryGetProperty("diff", out var diff)
                ? diff.GetString() : null;
        }
        catch (Exception e) when (e is McpException or HttpRequestException or IOException)
        {
            logger.LogInformation("No preview for a write_file of task {TaskId}: {Error}", run.TaskId, e.Message);
            return null;
        }
    }

    /// <param name="published">What of <paramref name="data"/> the live event carries too (a knowledge search's hits); usually nothing.</param>
    private Task StoreAsync(string role, string kind, string text, object data, CancellationToken ct, JsonElement? published = null)
    {
        var message = new MessageRecord
        {
            Id = Guid.CreateVersion7(), TaskId = run.TaskId, Role = role, Kind = kind, Text = text, Model = run.Model, CreatedAt = run.Now,
            Data = JsonSerializer.Serialize(data, OsirisJson.Options),
        };
        return run.StoreMessageAsync(message, new NewMessagePayload(message.Id, role, kind, text, Delta: null, Final: true, Model: run.Model, Data: published), ct);
    }

    private sealed class NoProgress : IProgress<ProgressNotificationValue>
    {
        public static readonly NoProgress Instance = new();

        public void Report(ProgressNotificationValue value)
        {
        }
    }
}
