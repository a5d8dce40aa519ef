using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;
using Osiris.Agent.Brains.Gemini;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Loop;

/// <summary>
/// A task's conversation as the providers accept it. Rebuilt from stored messages (after a crash, a retry or a
/// restart) it keeps each turn's tool calls in one assistant message directly followed by one tool message with a
/// result for every call, and puts a person's words written during a call after the results, once. It is compacted
/// before it nears the model's context window.
/// </summary>
public static class Conversation
{
    /// <summary>Said after the plan, so the next turn (which may call tools) follows a user turn, as Gemini requires.</summary>
    public const string AfterPlan = "Carry out the plan now, step by step, with the tools.";

    public const string PlanProperty = "plan";

    /// <summary>The longest call id OpenAI accepts.</summary>
    public const int MaxCallIdLength = 40;

    /// <summary>Marks a tool result that failed (<see cref="ToolOutcome.Failed"/>), for compaction and the offline script.</summary>
    public const string FailedProperty = "osiris.failed";

    public static FunctionResultContent Result(string callId, string text, bool failed) =>
        new(callId, text) { AdditionalProperties = failed ? new() { [FailedProperty] = true } : null };

    public static bool Failed(FunctionResultContent result) => result.AdditionalProperties?.ContainsKey(FailedProperty) == true;

    public static ChatMessage Plan(string text) => new(ChatRole.Assistant, text) { AdditionalProperties = new() { [PlanProperty] = true } };

    public static bool HasPlan(IEnumerable<ChatMessage> history) => history.Any(m => m.AdditionalProperties?.ContainsKey(PlanProperty) == true);

    /// <param name="personText">How a person's message reaches the model (a channel sender's is marked untrusted).</param>
    public static List<ChatMessage> Rebuild(string system, string task, IEnumerable<MessageRecord> stored, ISet<Guid> seenPersonMessages,
        Func<string, string>? personText = null)
    {
        var history = new List<ChatMessage> { new(ChatRole.System, system), new(ChatRole.User, task) };
        ChatMessage? assistant = null;
        ChatMessage? results = null;
        int? turnStep = null;
        var deferred = new List<ChatMessage>();

        void Close()
        {
            if (assistant is not null)
            {
                history.Add(assistant);
                var calls = assistant.Contents.OfType<FunctionCallContent>().ToList();
                if (calls.Count > 0)
                {
                    results ??= new ChatMessage(ChatRole.Tool, []);
                    foreach (var call in calls.Where(c => !results.Contents.OfType<FunctionResultContent>().Any(r => r.CallId == c.CallId)))
                    {
                        // A call whose worker died before it finished: say so rather than repeat it blindly.
                        results.Contents.Add(new FunctionResultContent(call.CallId,
                            "The worker stopped before this call finished; its effect is unknown. Check the workspace before repeating it."));
                    }
                    // Results in the order of the calls, as both providers pair them.
                    var ordered = calls.Select(c => results.Contents.OfType<FunctionResultContent>().First(r => r.CallId == c.CallId)).ToList<AIContent>();
                    history.Add(new ChatMessage(ChatRole.Tool, ordered));
                }
            }
            history.AddRange(deferred);
            assistant = null;
            results = null;
            turnStep = null;
            deferred.Clear();
        }

        foreach (var message in stored)
        {
            switch (message.Kind, message.Role)
            {
                case (MessageKinds.Plan, MessageRoles.Assistant):
                    Close();
                    history.Add(Plan(message.Text));
                    history.Add(new ChatMessage(ChatRole.User, AfterPlan));
                    break;
                case (MessageKinds.Text, MessageRoles.Assistant):
                    Close();
                    assistant = new ChatMessage(ChatRole.Assistant, message.Text);
                    break;
                case (MessageKinds.ToolCall, _) when message.Data is not null:
                    var call = JsonDocument.Parse(message.Data).RootElement;
                    int? step = call.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : null;
                    var hasCalls = assistant?.Contents.OfType<FunctionCallContent>().Any() == true;
                    // One turn's calls share its step; records from before steps were stored count as a turn each.
                    if (assistant is null || hasCalls && (step is null || step != turnStep))
                    {
                        Close();
                        assistant = new ChatMessage(ChatRole.Assistant, []);
                    }
                    turnStep = step;
                    var arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>(call.GetProperty("arguments").GetRawText());
                    assistant.Contents.Add(new FunctionCallContent(CallId(call.GetProperty("callId").GetString()!), call.GetProperty("name").GetString()!, arguments));
                    break;
                case (MessageKinds.ToolResult, _) when message.Data is not null:
                    var result = JsonDocument.Parse(message.Data).RootElement;
                    var callId = CallId(result.GetProperty("callId").GetString()!);
                    if (assistant?.Contents.OfType<FunctionCallContent>().Any(c => c.CallId == callId) == true)
                    {
                        var failed = result.TryGetProperty("failed", out var f) && f.ValueKind == JsonValueKind.True;
                        (results ??= new ChatMessage(ChatRole.Tool, [])).Contents.Add(Result(callId, result.GetProperty("result").GetString() ?? "", failed));
                    }
                    break;
                case (MessageKinds.Restore, _):
                case (_, MessageRoles.User):
                    seenPersonMessages.Add(message.Id);
                    var said = new ChatMessage(ChatRole.User, personText is null || message.Kind == MessageKinds.Restore ? message.Text : personText(message.Text));
                    if (assistant is null)
                    {
                        history.Add(said);
                    }
                    else
                    {
                        deferred.Add(said);
                    }
                    break;
            }
        }
        Close();
        return history;
    }

    /// <summary>
    /// Call ids as every provider accepts them: ids longer than OpenAI's 40 characters (earlier releases minted 44 for
    /// Gemini's id-less calls) become a stable short form, the same for a call and its result.
    /// </summary>
    public static string CallId(string id)
    {
        if (id.Length <= MaxCallIdLength)
        {
            return id;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..24];
        return id.StartsWith(GeminiParts.LegacyGeneratedCallIdPrefix, StringComparison.Ordinal) ? GeminiParts.GeneratedCallIdPrefix + hash : "c-" + hash;
    }

    private static readonly Lazy<Tokenizer> Tokens = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    /// <summary>
    /// Tokens the history will take, counted with GPT-4o's tokenizer (o200k); for Gemini, which has no local tokenizer,
    /// the same count is a close estimate. Each message adds a few tokens of framing.
    /// </summary>
    public static long CountTokens(IEnumerable<ChatMessage> history) => history.Sum(m => 4L + m.Contents.Sum(c => c switch
    {
        TextContent t => Tokens.Value.CountTokens(t.Text),
        FunctionCallContent call => 8 + Tokens.Value.CountTokens(call.Name) + Tokens.Value.CountTokens(JsonSerializer.Serialize(call.Arguments)),
        FunctionResultContent result => 8 + Tokens.Value.CountTokens(result.Result?.ToString() ?? ""),
        _ => 0,
    }));

    /// <summary>UTF-8 bytes: a byte-level BPE token covers at least one byte, so this bounds the token count from above.</summary>
    private static long Bytes(AIContent content) => content switch
    {
        TextContent t => Encoding.UTF8.GetByteCount(t.Text),
        FunctionCallContent call => 8 + Encoding.UTF8.GetByteCount(call.Name) + Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(call.Arguments)),
        FunctionResultContent result => 8 + Encoding.UTF8.GetByteCount(result.Result?.ToString() ?? ""),
        _ => 0,
    };

    /// <summary>
    /// Makes the history fit <paramref name="limit"/> tokens. First the output of tool calls older than the last
    /// <paramref name="keepTurns"/> turns is elided (the calls stay, paired with a short result); if that is not enough,
    /// the oldest whole turns after the task and plan are replaced by one note that lists what they did. Both keep every
    /// call next to its result. The new prefix then stays as it is until the next compaction, so provider-side prompt
    /// caching works again from the next turn on.
    /// </summary>
    /// <returns>How many tokens the history had before, and has after; (0, 0) when it is plainly within the limit and was not counted.</returns>
    public static (long Before, long After) Compact(List<ChatMessage> history, long limit, int keepTurns = 2)
    {
        // A history with fewer bytes than the limit has fewer tokens too and needs no counting (the usual case, so the
        // tokenizer does not run over the whole history every turn).
        if (history.Sum(m => m.Contents.Sum(Bytes)) + 4L * history.Count <= limit)
        {
            return (0, 0);
        }
        var before = CountTokens(history);
        if (before <= limit)
        {
            return (before, before);
        }
        var toolMessages = history.Select((m, i) => (m, i)).Where(x => x.m.Role == ChatRole.Tool).Select(x => x.i).ToList();
        foreach (var index in toolMessages.Take(Math.Max(0, toolMessages.Count - keepTurns)))
        {
            var message = history[index];
            history[index] = new ChatMessage(ChatRole.Tool, [.. message.Contents.Select(c => c is FunctionResultContent r && (r.Result?.ToString()?.Length ?? 0) > 200
                ? Result(r.CallId, $"[Output elided to fit the context window ({r.Result!.ToString()!.Length:N0} characters). Run the call again or read the file if you need it.]", Failed(r))
                : c)]);
        }
        var after = CountTokens(history);

        var start = history.FindLastIndex(m => m.AdditionalProperties?.ContainsKey(PlanProperty) == true) is var plan and >= 0 ? plan + 2 : 2;
        var dropped = new List<string>();
        while (after > limit)
        {
            // A turn: an assistant message, its tool results and what people said after them.
            var end = start;
            if (end >= history.Count || history[end].Role != ChatRole.Assistant)
            {
                end++;
            }
            else
            {
                end++;
                while (end < history.Count && history[end].Role != ChatRole.Assistant)
                {
                    end++;
                }
            }
            if (end >= history.Count - 1)
            {
                break; // never drop the latest turn
            }
            foreach (var call in history.Skip(start).Take(end - start).SelectMany(m => m.Contents).OfType<FunctionCallContent>())
            {
                var failed = history.Skip(start).Take(end - start).SelectMany(m => m.Contents).OfType<FunctionResultContent>()
                    .FirstOrDefault(r => r.CallId == call.CallId) is { } r && Failed(r);
                var args = JsonSerializer.Serialize(call.Arguments);
                dropped.Add($"{call.Name}({(args.Length > 120 ? args[..120] + "…" : args)}){(failed ? " — failed" : "")}");
            }
            history.RemoveRange(start, end - start);
            after = CountTokens(history);
        }
        if (dropped.Count > 0)
        {
            history.Insert(start, new ChatMessage(ChatRole.User,
                $"[Earlier steps were removed to fit the context window. Tool calls made in them, in order:\n- {string.Join("\n- ", dropped)}\nCheck the workspace for their results.]"));
            // Two user turns must not follow each other without a model turn between them for every provider: merge.
            if (start + 1 < history.Count && history[start + 1].Role == ChatRole.User)
            {
                var next = history[start + 1];
                history.RemoveAt(start + 1);
                history[start] = new ChatMessage(ChatRole.User, [.. history[start].Contents, .. next.Contents]);
            }
            after = CountTokens(history);
        }
        return (before, after);
    }
}
