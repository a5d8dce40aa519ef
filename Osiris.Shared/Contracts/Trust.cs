using System.Text.RegularExpressions;

namespace Osiris.Shared.Contracts;

/// <summary>What a task may do with tools: every tool, tools that change things only with a person's approval, or none.</summary>
public static class ToolModes
{
    public const string Autonomous = "autonomous";

    /// <summary><c>run_command</c> and <c>write_file</c> wait for a person's approval; reading and knowledge search do not.</summary>
    public const string ApproveRisky = "approve-risky";

    /// <summary>The model answers from the conversation and knowledge search only.</summary>
    public const string NoTools = "no-tools";

    public static readonly string[] All = [Autonomous, ApproveRisky, NoTools];
}

/// <summary>Whether a channel task's answer goes back to the sender by itself, or waits for a person on the dashboard.</summary>
public static class ReplyModes
{
    public const string Auto = "auto";
    public const string Review = "review";

    public static readonly string[] All = [Auto, Review];
}

/// <summary>Who a channel sender is to OSIRIS.</summary>
public static class SenderLevels
{
    public const string Trusted = "trusted";
    public const string Unknown = "unknown";
    public const string Blocked = "blocked";

    public static readonly string[] All = [Trusted, Unknown, Blocked];
}

/// <summary>
/// What tasks of senders at one level may do and spend; a null count means no limit. <c>knowledgeCollections</c> names
/// the knowledge collections their agent may search (<c>*</c>: all); null — and policies stored by earlier releases —
/// only the built-in docs, so a new collection is never shown to strangers until someone allows it.
/// </summary>
public sealed record TrustLevelSettings(
    string ToolMode, string ReplyMode, decimal MaxCostUsd, long MaxTokens, int? TasksPerDay, int? MessagesPerMinute,
    IReadOnlyList<string>? KnowledgeCollections = null);

public sealed record TrustLevels(TrustLevelSettings Trusted, TrustLevelSettings Unknown);

/// <summary>
/// <c>GET/PUT /api/v1/settings/trust</c>: what senders on public channels may make the agent do. <c>allow</c> and
/// <c>block</c> hold WhatsApp numbers (<c>+4915112345678</c>), e-mail addresses and e-mail domains (<c>@example.com</c>).
/// An allowed e-mail sender counts as trusted only when the message proves it (an aligned DKIM or SPF pass).
/// </summary>
public sealed partial record TrustPolicy(TrustLevels Levels, IReadOnlyList<string> Allow, IReadOnlyList<string> Block) : IValidatable
{
    public const int MaxEntries = 1000;

    /// <summary>Safe for a public number: strangers' tasks ask before they change anything, and their replies wait for a person.</summary>
    public static readonly TrustPolicy Default = new(
        new TrustLevels(
            Trusted: new TrustLevelSettings(ToolModes.Autonomous, ReplyModes.Auto, 5m, 1_000_000, null, null),
            Unknown: new TrustLevelSettings(ToolModes.ApproveRisky, ReplyModes.Review, 0.25m, 50_000, 10, 6)),
        [], []);

    public TrustLevelSettings For(string level) => level == SenderLevels.Trusted ? Levels.Trusted : Levels.Unknown;

    /// <summary>
    /// Blocked if any block entry matches (a forged sender is blocked too); trusted if an allow entry matches and the
    /// channel proved the sender (<paramref name="authenticated"/>); otherwise unknown.
    /// </summary>
    public string LevelOf(string channel, string sender, bool authenticated)
    {
        if (Block.Any(entry => Matches(entry, channel, sender)))
        {
            return SenderLevels.Blocked;
        }
        return authenticated && Allow.Any(entry => Matches(entry, channel, sender)) ? SenderLevels.Trusted : SenderLevels.Unknown;
    }

    /// <summary>The form a sender takes in the lists: <c>+</c> and digits for WhatsApp, the lower-case address for e-mail.</summary>
    public static string EntryFor(string channel, string sender) =>
        channel == TaskSources.WhatsApp ? "+" + sender.TrimStart('+') : sender.Trim().ToLowerInvariant();

    public static bool Matches(string entry, string channel, string sender)
    {
        var normal = EntryFor(channel, sender);
        entry = entry.Trim().ToLowerInvariant();
        return channel == TaskSources.Email && entry.StartsWith('@')
            ? normal.EndsWith(entry, StringComparison.Ordinal)
            : entry == normal;
    }

    [GeneratedRegex(@"^(\+[0-9]{6,15}|[^@\s]+@[^@\s]+\.[^@\s]+|@[^@\s]+\.[^@\s]+)$")]
    private static partial Regex EntryShape();

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (name, level) in new[] { ("trusted", Levels?.Trusted), ("unknown", Levels?.Unknown) })
        {
            if (level is null)
            {
                errors[$"levels.{name}"] = ["Each level (trusted, unknown) needs its settings."];
                continue;
            }
            var problems = new List<string>();
            if (!ToolModes.All.Contains(level.ToolMode))
            {
                problems.Add($"toolMode is one of {string.Join(", ", ToolModes.All)}.");
            }
            if (!ReplyModes.All.Contains(level.ReplyMode))
            {
                problems.Add($"replyMode is one of {string.Join(", ", ReplyModes.All)}.");
            }
            if (level.MaxCostUsd is < 0 or > 10_000 || level.MaxTokens is < 0 or > 100_000_000)
            {
                problems.Add("maxCostUsd is 0 to 10,000 US dollars; maxTokens is 0 to 100,000,000.");
            }
            if (level.TasksPerDay is < 0 or > 100_000 || level.MessagesPerMinute is < 0 or > 10_000)
            {
                problems.Add("tasksPerDay is 0 to 100,000 and messagesPerMinute 0 to 10,000 (or null: no limit).");
            }
            if (level.KnowledgeCollections is { } collections
                && (collections.Count > 50 || collections.Any(c => c != CollectionNames.Any && !CollectionNames.IsValid(c))))
            {
                problems.Add("knowledgeCollections holds at most 50 collection names, or \"*\" for all.");
            }
            if (problems.Count > 0)
            {
                errors[$"levels.{name}"] = [.. problems];
            }
        }
        foreach (var (name, list) in new[] { ("allow", Allow), ("block", Block) })
        {
            if (list is null)
            {
                errors[name] = ["A list is required (it may be empty)."];
            }
            else if (list.Count > MaxEntries)
            {
                errors[name] = [$"At most {MaxEntries} entries."];
            }
            else if (list.Where(e => e is null || !EntryShape().IsMatch(e.Trim())).ToList() is { Count: > 0 } bad)
            {
                errors[name] = [$"Not a WhatsApp number (+ and digits), an e-mail address or an @domain: {string.Join(", ", bad.Take(5))}."];
            }
        }
        return errors;
    }
}

/// <summary><c>PUT /api/v1/senders/{channel}/{id}</c>: trust, block, or forget a sender.</summary>
public sealed record SenderLevelRequest(string Level) : IValidatable
{
    public Dictionary<string, string[]> Validate() =>
        SenderLevels.All.Contains(Level) ? [] : new() { ["level"] = [$"level is one of {string.Join(", ", SenderLevels.All)}."] };
}

/// <summary>In <c>task_update</c> while a channel reply waits for a person: what would be sent, and to whom.</summary>
public sealed record PendingReply(Guid Id, string Channel, string To, string Text);

/// <summary><c>POST /api/v1/tasks/{id}/replies/{replyId}</c>: send the reply (with edited text, if given) or discard it.</summary>
public sealed record ReplyDecision(string Action, string? Text) : IValidatable
{
    public const string Send = "send";
    public const string Discard = "discard";
    public const int MaxTextLength = 20_000;

    public Dictionary<string, string[]> Validate() =>
        Action is not (Send or Discard) ? new() { ["action"] = ["action is send or discard."] }
        : Action == Send && Text is { } text && (string.IsNullOrWhiteSpace(text) || text.Length > MaxTextLength)
            ? new() { ["text"] = [$"An edited reply has 1 to {MaxTextLength} characters."] }
        : [];
}
