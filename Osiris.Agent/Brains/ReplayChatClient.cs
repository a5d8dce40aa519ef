using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Osiris.Agent.Loop;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Brains;

/// <summary>
/// The hidden <c>replay</c> brain: answers each model turn of a replay task with what the model answered at the same
/// turn of the recorded run — read from the recorded task's stored messages, not from the event log, which retention
/// deletes — while the tools run for real in the replay's fresh workspace. Before each answer it compares the results
/// the replayed tools gave with the recorded ones; at the first difference the replay stops and reports both results
/// (<see cref="ReplayReport"/>), else it reports that the whole run reproduced.
/// </summary>
/// <remarks>
/// Turns are matched by position (the n-th model turn answers as the n-th recorded one). A command's duration and the
/// interleaving of its stdout and stderr lines are not compared (<see cref="Normalize"/>). A recorded answer without
/// tool calls ends the replay: a run that went on after a person's message cannot be replayed past it, since no person
/// speaks here.
/// </remarks>
public sealed class ReplayChatClient(TaskRun run) : IChatClient
{
    public const string Model = BrainNames.ReplayModel;

    private List<ChatMessage>? _recording;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _recording ??= await LoadAsync(cancellationToken);
        var history = messages.ToList();
        var recorded = _recording.Where(m => m.Role == ChatRole.Assistant).ToList();
        var turn = history.Count(m => m.Role == ChatRole.Assistant);
        var calls = _recording.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Count();

        if (turn > 0 && Diverged(history, turn, recorded) is { } divergence)
        {
            await FinishAsync(divergence with { Turns = turn, ToolCalls = CallsUpTo(recorded, turn) }, cancellationToken);
            yield return Final(Describe(divergence));
            yield break;
        }
        if (turn >= recorded.Count)
        {
            var report = new ReplayReport(true, turn, calls, Reason: "The recorded run had no further model turns.");
            await FinishAsync(report, cancellationToken);
            yield return Final(Describe(report));
            yield break;
        }

        var answer = recorded[turn];
        var answerCalls = answer.Contents.OfType<FunctionCallContent>().ToList();
        var planning = options?.Tools is not { Count: > 0 };
        if (answerCalls.Count == 0 && !planning)
        {
            var report = new ReplayReport(true, turn + 1, calls, Reason: turn + 1 < recorded.Count
                ? "The recorded run went on after a person's message at this point; a replay stops here." : null);
            await FinishAsync(report, cancellationToken);
            yield return Final(Describe(report) + "\n\nThe recorded answer:\n" + answer.Text);
            yield break;
        }
        if (answer.Text.Length > 0)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, answer.Text) { ModelId = Model };
        }
        if (answerCalls.Count > 0)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant,
                [.. answerCalls.Select(c => new FunctionCallContent(c.CallId, c.Name, c.Arguments is null ? null : new Dictionary<string, object?>(c.Arguments)))])
            {
                ModelId = Model,
            };
        }
        yield return new ChatResponseUpdate(ChatRole.Assistant, []) { ModelId = Model, FinishReason = answerCalls.Count > 0 ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop };
    }

    /// <summary>The first call of the previous turn whose replayed result differs from the recorded one.</summary>
    private ReplayReport? Diverged(List<ChatMessage> history, int turn, List<ChatMessage> recorded)
    {
        var recordedCalls = turn - 1 < recorded.Count ? recorded[turn - 1].Contents.OfType<FunctionCallContent>().ToList() : [];
        if (recordedCalls.Count == 0)
        {
            return null;
        }
        var recordedIndex = _recording!.IndexOf(recorded[turn - 1]);
        var recordedResults = _recording.Skip(recordedIndex + 1).TakeWhile(m => m.Role == ChatRole.Tool).SelectMany(m => m.Contents)
            .OfType<FunctionResultContent>().ToList();
        var lastAssistant = history.FindLastIndex(m => m.Role == ChatRole.Assistant);
        var replayedResults = history.Skip(lastAssistant + 1).TakeWhile(m => m.Role == ChatRole.Tool).SelectMany(m => m.Contents)
            .OfType<FunctionResultContent>().ToList();
        foreach (var call in recordedCalls)
        {
            var before = recordedResults.FirstOrDefault(r => r.CallId == call.CallId)?.Result?.ToString() ?? "";
            var now = replayedResults.FirstOrDefault(r => r.CallId == call.CallId)?.Result?.ToString();
            if (now is null || Normalize(before) != Normalize(now))
            {
                return new ReplayReport(false, turn, 0, Step: turn, Tool: call.Name,
                    Arguments: JsonSerializer.SerializeToElement(call.Arguments, OsirisJson.Options), Recorded: before, Replayed: now ?? "(the call was not made)");
            }
        }
        return null;
    }

    private static int CallsUpTo(List<ChatMessage> recorded, int turn) =>
        recorded.Take(turn).Sum(m => m.Contents.OfType<FunctionCallContent>().Count());

    /// <summary>
    /// What may differ between two runs of the same command: its duration, and how its stdout and stderr lines
    /// interleave (they come through two pipes, whose order against each other is not fixed). A command's result is
    /// compared by its exit code and its lines in any order; every other result as it is.
    /// </summary>
    public static string Normalize(string result)
    {
        var text = result.Replace("\r\n", "\n");
        if (!CommandResultText.TryParseHead(text, out var exitCode, out _, out var length))
        {
            return text;
        }
        var lines = text.Split('\n');
        return CommandResultText.Status(exitCode) + lines[0][length..] + "\n" + string.Join("\n", lines.Skip(1).Order(StringComparer.Ordinal));
    }

    public static string Describe(ReplayReport report) => report.Reproduced
        ? $"Replay reproduced the recorded run: {report.Turns} model turns, {report.ToolCalls} tool calls, every tool result the same." +
          (report.Reason is null ? "" : " " + report.Reason)
        : $"Replay diverged at step {report.Step}: {report.Tool} {report.Arguments} gave a different result than in the recorded run.\n\n" +
          $"Recorded:\n<<<\n{report.Recorded}\n>>>\n\nReplayed:\n<<<\n{report.Replayed}\n>>>";

    private Task FinishAsync(ReplayReport report, CancellationToken ct) =>
        run.UpdateTaskAsync(t => t.ReplayReport = JsonSerializer.Serialize(report, OsirisJson.Options), ct);

    private static ChatResponseUpdate Final(string text) => new(ChatRole.Assistant, text) { ModelId = Model, FinishReason = ChatFinishReason.Stop };

    /// <summary>The recorded run as the model saw it: its stored messages, rebuilt into turns.</summary>
    private async Task<List<ChatMessage>> LoadAsync(CancellationToken ct)
    {
        var origin = await run.ReadAsync(db => db.Tasks.AsNoTracking().Where(t => t.Id == run.TaskId).Select(t => t.OriginTaskId).SingleAsync(ct))
            ?? throw new TaskStoppedException("this replay task names no recorded run");
        var stored = await run.ReadAsync(db => db.Messages.AsNoTracking().Where(m => m.TaskId == origin).OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).ToListAsync(ct));
        return Conversation.Rebuild("", "", stored, new HashSet<Guid>());
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata(BrainNames.Replay, null, Model) : null;

    public void Dispose()
    {
    }
}
