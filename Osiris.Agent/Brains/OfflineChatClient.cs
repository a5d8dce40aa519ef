using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Brains;

/// <summary>
/// The <c>offline</c> brain: no model at all. It drives the same loop and the same MCP tools through a fixed script
/// — look at the workspace, write a script with a deliberate bug, run it, read the error, fix it, run it again,
/// report — so a newcomer sees the whole flow without keys. Everything it says is labelled offline; it is never
/// presented as AI.
/// </summary>
public sealed class OfflineChatClient : IChatClient
{
    public const string Label = "[offline brain — scripted, not AI]";
    private const string Script = "greet.sh";

    private static readonly string Broken = "#!/bin/sh\n# Greets the task's author.\nname=\"${1:-world}\"\nprintf 'Hello, %s!\\n' \"$name\"\nshow_date\n";
    private static readonly string Fixed = "#!/bin/sh\n# Greets the task's author.\nname=\"${1:-world}\"\nprintf 'Hello, %s!\\n' \"$name\"\ndate -u +'Today is %Y-%m-%d (UTC).'\n";

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var history = messages.ToList();
        var results = history.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count();
        var prompt = history.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var input = history.Sum(m => m.Text.Length) / 4;

        if (options?.Tools is not { Count: > 0 })
        {
            foreach (var piece in Pieces($"{Label} Plan:\n1. Look at the workspace.\n2. Write {Script}.\n3. Run it and read its output.\n4. Fix any error and run it again.\n5. Report the result."))
            {
                await Task.Delay(15, cancellationToken);
                yield return Text(piece);
            }
            yield return Usage(input, 40);
            yield break;
        }

        // The script narrates what happened, not what it planned: a tool that failed other than by the planted bug ends it.
        var outcomes = history.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        var broken = outcomes.Select((result, i) => (text: result.Result?.ToString() ?? "", step: i + 1, failed: Loop.Conversation.Failed(result)))
            .FirstOrDefault(o => Unexpected(o.step, o.text, o.failed));
        if (broken.text is not null)
        {
            var report = $"{Label} I stopped at step {broken.step}: it did not work as the script expects.\n{FirstLines(broken.text, 4)}";
            foreach (var piece in Pieces(report))
            {
                await Task.Delay(15, cancellationToken);
                yield return Text(piece);
            }
            yield return Usage(input, report.Length / 4, Failed);
            yield break;
        }

        (string Name, Dictionary<string, object?> Arguments)? call = results switch
        {
            0 => ("list_dir", new() { ["path"] = "." }),
            1 => ("write_file", new() { ["path"] = Script, ["content"] = Broken }),
            2 => ("run_command", new() { ["command"] = $"sh {Script}" }),
            3 => ("write_file", new() { ["path"] = Script, ["content"] = Fixed }),
            4 => ("run_command", new() { ["command"] = $"sh {Script}" }),
            _ => null,
        };

        if (call is { } next && HasTool(options, next.Name))
        {
            // It says which step of its plan each result finished, so the plan ticks itself off on screen.
            var note = results switch
            {
                1 or 2 => $"{Label} Step {results} done. Next: {next.Name}.",
                3 => $"{Label} Step 3 done. The run failed: `show_date` does not exist. Replacing it with `date`.",
                _ => $"{Label} Next: {next.Name}.",
            };
            yield return Text(note);
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent($"offline-{results + 1}", next.Name, next.Arguments)])
            {
                ModelId = BrainSettings.OfflineModel,
            };
            yield return Usage(input, 60);
            yield break;
        }

        var output = history.SelectMany(m => m.Contents).OfType<FunctionResultContent>().LastOrDefault()?.Result?.ToString() ?? "";
        var summary = $"{Label} Step 4 done. Step 5 done. I wrote {Script}, ran it, found that `show_date` is not a command, fixed it and ran it again.\n" +
            $"Last output:\n{FirstLines(output, 6)}\n(The offline brain follows a fixed script; configure OpenAI or Gemini for real work on: \"{FirstLines(prompt, 1)}\".)";
        foreach (var piece in Pieces(summary))
        {
            await Task.Delay(15, cancellationToken);
            yield return Text(piece);
        }
        yield return Usage(input, summary.Length / 4);
    }

    /// <summary>Ends a turn whose report says the work failed: the loop fails the task with it, never "completed".</summary>
    public static readonly ChatFinishReason Failed = new("error");

    /// <summary>Step 3 runs the script with its planted bug and must fail on <c>show_date</c>; every other step must succeed.</summary>
    private static bool Unexpected(int step, string result, bool failed) =>
        step == 3 ? !failed || !result.Contains("show_date", StringComparison.Ordinal) : failed;

    private static bool HasTool(ChatOptions options, string name) => options.Tools!.OfType<AIFunction>().Any(t => t.Name == name);

    private static ChatResponseUpdate Text(string text) => new(ChatRole.Assistant, text) { ModelId = BrainSettings.OfflineModel };

    private static ChatResponseUpdate Usage(long input, long output, ChatFinishReason? finish = null) => new(ChatRole.Assistant,
        [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output })])
    {
        ModelId = BrainSettings.OfflineModel,
        FinishReason = finish ?? ChatFinishReason.Stop,
    };

    /// <summary>Words in small groups, so the text streams like a model's.</summary>
    private static IEnumerable<string> Pieces(string text)
    {
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i += 3)
        {
            yield return string.Join(' ', words.Skip(i).Take(3)) + (i + 3 < words.Length ? " " : "");
        }
    }

    private static string FirstLines(string text, int count) => string.Join('\n', text.Split('\n').Take(count));

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("offline", null, BrainSettings.OfflineModel) : null;

    public void Dispose()
    {
    }
}
