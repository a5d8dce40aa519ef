namespace Osiris.Shared.Knowledge;

/// <summary>
/// <c>Knowledge:Embeddings</c>: the provider that turns passages and questions into vectors for semantic search. None
/// configured (the default): search is lexical only, and says so.
/// </summary>
public sealed class EmbeddingOptions
{
    public const string Section = "Knowledge:Embeddings";

    public const string OpenAI = "openai";
    public const string Gemini = "gemini";

    /// <summary>Any server speaking OpenAI's <c>/v1/embeddings</c> (vLLM, Ollama, LiteLLM…); <see cref="Endpoint"/> is required.</summary>
    public const string Compatible = "compatible";

    public static readonly string[] Providers = [OpenAI, Gemini, Compatible];

    public string? Provider { get; set; }
    public string? Model { get; set; }
    public string? Endpoint { get; set; }
    public string? ApiKey { get; set; }

    /// <summary>Vector size to ask for (text-embedding-3 and gemini-embedding-001 can shorten theirs); null: the model's own.</summary>
    public int? Dimensions { get; set; }

    /// <summary>Passages per embedding request while indexing.</summary>
    public int BatchSize { get; set; } = 64;

    public bool Configured => Provider is { Length: > 0 } p && !p.Equals("none", StringComparison.OrdinalIgnoreCase);

    public string EffectiveModel => Model is { Length: > 0 } model ? model : Provider?.ToLowerInvariant() switch
    {
        Gemini => "gemini-embedding-001",
        _ => "text-embedding-3-small",
    };

    /// <summary>What a stored vector was made with: a different model or size means the passage is embedded again.</summary>
    public string Signature => Dimensions is { } d ? $"{Provider?.ToLowerInvariant()}:{EffectiveModel}:{d}" : $"{Provider?.ToLowerInvariant()}:{EffectiveModel}";
}
