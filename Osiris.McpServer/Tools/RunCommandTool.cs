using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.McpServer.Sandbox;
using Osiris.McpServer.Workspaces;
using Osiris.Shared.Contracts;

namespace Osiris.McpServer.Tools;

[McpServerToolType]
public sealed class RunCommandTool
{
    [McpServerTool(Name = "run_command", Title = "Run a shell command in the sandbox", Destructive = true, Idempotent = false, OpenWorld = false)]
    [Description("Runs a bash command in an isolated sandbox whose working folder is the workspace (mounted at /workspace, read-write). " +
                 "System folders are read-only, there is no network, and limits apply: a wall-clock timeout (default 30 s), output size, " +
                 "process count, file size and memory. Output lines stream as progress notifications while it runs; the result has the exit code, " +
                 "the duration and the (capped) output of stdout and stderr. Plainly destructive commands (rm -rf /, fork bombs) are refused.")]
    public static async Task<CallToolResult> RunCommand(
        Workspace workspace,
        CommandRunner runner,
        IProgress<ProgressNotificationValue> progress,
        [Description("The command line, run with 'bash -c' in the workspace, e.g. 'ls -la && python3 test.py'.")] string command,
        [Description("Optional wall-clock limit in seconds (default 30, at most 600); the command and all its processes are killed when it passes.")] int? timeoutSeconds = null,
        CancellationToken cancellationToken = default)
    {
        string root;
        try
        {
            root = workspace.Root;
        }
        catch (PathRefusedException e)
        {
            return ToolResults.Error(e.Message);
        }
        if (runner.Refusal(command) is { } refusal)
        {
            return ToolResults.Error(refusal, runner.CanRun ? ToolResults.Kinds.Refused : ToolResults.Kinds.SandboxUnavailable);
        }

        var lines = 0;
        var result = await runner.RunAsync(root, command, timeoutSeconds, line =>
        {
            var n = Interlocked.Increment(ref lines);
            progress.Report(new ProgressNotificationValue
            {
                Progress = n,
                Message = line.Stream == "stderr" ? $"[stderr] {line.Text}" : line.Text,
            });
        }, cancellationToken);

        var text = $"{CommandResultText.Head(result.ExitCode, result.DurationMs)}{(result.Sandboxed ? "" : ", NOT sandboxed")}\n" +
                   (result.Note is null ? "" : result.Note + "\n") +
                   result.Output;
        return ToolResults.Success(text, new
        {
            exitCode = result.ExitCode,
            durationMs = result.DurationMs,
            output = result.Output,
            timedOut = result.TimedOut,
            outputTruncated = result.OutputTruncated,
            sandboxed = result.Sandboxed,
            note = result.Note,
        }, isError: result.ExitCode is null);
    }
}
