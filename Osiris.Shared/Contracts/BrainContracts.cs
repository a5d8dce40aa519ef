namespace Osiris.Shared.Contracts;

/// <summary><c>GET/PUT /api/v1/settings/brain</c> and <c>PUT /api/v1/tasks/{id}/brain</c>.</summary>
public sealed record BrainChoice(string Brain, string? Model) : IValidatable
{
    public const int MaxModelLength = 100;

    /// <summary>A known brain and a model name of sane length; whether the brain is configured is the API's to say.</summary>
    public Dictionary<string, string[]> Validate() =>
        !BrainNames.All.Contains(Brain) ? new() { ["brain"] = [$"Unknown brain '{Brain}'. Allowed: {string.Join(", ", BrainNames.All)}."] }
        : Model is { Length: > MaxModelLength } ? new() { ["model"] = [$"The model name has at most {MaxModelLength} characters."] }
        : [];
}

/// <summary>One entry of <c>GET /api/v1/brains</c>: a provider, whether it is configured, and its models.</summary>
public sealed record BrainInfo(string Brain, bool Configured, string DefaultModel, IReadOnlyList<string> Models, bool Offline);

/// <summary><c>GET /api/v1/brains</c>: the providers and the global default.</summary>
public sealed record BrainCatalog(IReadOnlyList<BrainInfo> Brains, BrainChoice Default);
