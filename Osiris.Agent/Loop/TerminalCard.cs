using System.Threading.Channels;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Loop;

/// <summary>
/// One command's terminal card: output lines as <c>terminal_log</c> events in the order the command printed them,
/// numbered without gaps, and always an end event — also when the call failed or was cancelled.
/// </summary>
/// <remarks>
/// Progress notifications (line n is progress n) may arrive out of order, or after the call's result, and are then
/// dropped by the client. So lines are published strictly in sequence; at the end, the result's output (every line,
/// in order) supplies the ones that never came.
/// </remarks>
public sealed class TerminalCard : IProgress<ProgressNotificationValue>
{
    private readonly TaskRun _run;
    private readonly string _commandId;
    private readonly string _command;
    private readonly CancellationToken _ct;
    private readonly Channel<ProgressNotificationValue> _lines = Channel.CreateUnbounded<ProgressNotificationValue>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SortedDictionary<int, string> _waiting = [];
    private readonly Task _pump;
    private int _next = 1;

    public TerminalCard(TaskRun run, string commandId, string command, CancellationToken ct)
    {
        _run = run;
        _commandId = commandId;
        _command = command;
        _ct = ct;
        _pump = PumpAsync();
    }

    /// <summary>Called on the MCP client's thread, in arrival order (Progress&lt;T&gt; would post to the thread pool).</summary>
    public void Report(ProgressNotificationValue value) => _lines.Writer.TryWrite(value);

    private async Task PumpAsync()
    {
        await foreach (var line in _lines.Reader.ReadAllAsync(CancellationToken.None))
        {
            var number = (int)line.Progress;
            if (number < _next)
            {
                continue;
            }
            _waiting[number] = line.Message ?? "";
            while (_waiting.Remove(_next, out var ready))
            {
                await PublishAsync(ready);
                _next++;
            }
        }
    }

    /// <summary>Publishes the lines still missing, in order, then the end event.</summary>
    /// <param name="output">The whole output from the result (<paramref name="fromResult"/>), or a last line to show.</param>
    public async Task EndAsync(int? exitCode, long? durationMs, string? output, bool fromResult = false)
    {
        _lines.Writer.TryComplete();
        await _pump;
        if (fromResult && output is not null)
        {
            var all = output.Split('\n');
            var count = all.Length > 0 && all[^1].Length == 0 ? all.Length - 1 : all.Length;
            for (; _next <= count; _next++)
            {
                await PublishAsync(_waiting.Remove(_next, out var line) ? line : all[_next - 1]);
            }
        }
        foreach (var late in _waiting.Values)
        {
            await PublishAsync(late);
        }
        _waiting.Clear();
        if (!fromResult && output is not null)
        {
            await PublishAsync(output);
        }
        await Safely(() => _run.PublishAsync(EventTypes.TerminalLog,
            new TerminalLogPayload(_commandId, _command, "stdout", "", exitCode ?? -1, durationMs ?? 0), CancellationToken.None));
    }

    private Task PublishAsync(string message)
    {
        var stderr = message.StartsWith("[stderr] ", StringComparison.Ordinal);
        return Safely(() => _run.PublishAsync(EventTypes.TerminalLog,
            new TerminalLogPayload(_commandId, _command, stderr ? "stderr" : "stdout", stderr ? message[9..] : message), _ct));
    }

    private static async Task Safely(Func<Task> publish)
    {
        try
        {
            await publish();
        }
        catch (OperationCanceledException)
        {
            // Cancelled with the task: the remaining lines no longer matter.
        }
    }
}
