using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Shared.Knowledge;

/// <summary>Which collections a task's agent may search. One home for the rule the API writes and the MCP server enforces.</summary>
public static class KnowledgeScopes
{
    public static IReadOnlyList<string>? Parse(string? stored) =>
        stored is null ? null : stored.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static string? Format(IEnumerable<string>? names) =>
        names is null ? null : string.Join(',', names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));

    /// <summary>
    /// The names a task may search, or null for every collection. A channel task without a stored scope (opened by an
    /// earlier release) sees only the built-in docs: strangers never see what nobody allowed them.
    /// </summary>
    public static IReadOnlyList<string>? AllowedFor(string source, string? stored)
    {
        var names = Parse(stored);
        if (names is null)
        {
            return source is TaskSources.WhatsApp or TaskSources.Email ? [CollectionNames.BuiltIn] : null;
        }
        return names.Contains(CollectionNames.Any) ? null : names;
    }

    public static IReadOnlyList<string>? AllowedFor(TaskRecord task) => AllowedFor(task.Source, task.KnowledgeCollections);

    /// <summary>
    /// What a caller's own filter leaves of the allowed set: <paramref name="requested"/> narrows, it never widens.
    /// Null: every collection.
    /// </summary>
    public static IReadOnlyList<string>? Narrow(IReadOnlyList<string>? allowed, IReadOnlyList<string>? requested) =>
        requested is not { Count: > 0 } ? allowed
        : allowed is null ? requested
        : requested.Where(allowed.Contains).ToList();
}
