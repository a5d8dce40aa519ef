namespace Osiris.Shared.Contracts;

/// <summary>
/// <c>Osiris:Brains</c>: the model providers, set by the AppHost from its parameters. The agent receives the keys;
/// the API only learns whether each provider is configured and its model.
/// </summary>
public sealed class BrainSettings
{
    public const string Section = "Osiris:Brains";

    public ProviderSettings OpenAI { get; set; } = new() { Model = BrainNames.OpenAIDefaultModel };
    public ProviderSettings Gemini { get; set; } = new() { Model = BrainNames.GeminiDefaultModel };
    public ProviderSettings Compatible { get; set; } = new();

    public ProviderSettings For(string brain) => brain switch
    {
        BrainNames.OpenAI => OpenAI,
        BrainNames.Gemini => Gemini,
        BrainNames.OpenAICompatible => Compatible,
        _ => new ProviderSettings { Configured = true, Model = OfflineModel },
    };

    public const string OfflineModel = "offline-scripted";

    /// <summary>In the order the issue fixes: openai, gemini, openai-compatible, offline (always available).</summary>
    public IEnumerable<string> ConfiguredBrains() =>
        BrainNames.All.Where(b => b == BrainNames.Offline || For(b).IsConfigured);
}

public sealed class ProviderSettings
{
    public string ApiKey { get; set; } = "";
    public string Endpoint { get; set; } = "";
    public string Model { get; set; } = "";

    /// <summary>Set by the AppHost for services that do not receive the key.</summary>
    public bool Configured { get; set; }

    /// <summary>The AppHost decides (a key, or for openai-compatible an endpoint and a model); a key alone also counts.</summary>
    public bool IsConfigured => Configured || ApiKey.Length > 0;
}
