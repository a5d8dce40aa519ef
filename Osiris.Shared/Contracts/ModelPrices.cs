namespace Osiris.Shared.Contracts;

/// <summary>
/// What one model costs, in US dollars per million tokens, as the provider's price page lists it, and how much it can
/// read at once. Input tokens include the cached ones (both providers report them that way); output tokens include
/// reasoning ("thinking") tokens, which both providers bill as output.
/// </summary>
public sealed class ModelPrice
{
    public decimal InputPerMillion { get; set; }
    public decimal CachedInputPerMillion { get; set; }
    public decimal OutputPerMillion { get; set; }

    /// <summary>Prompts above this many tokens are billed at the <c>…Above</c> rates (Gemini 2.5 Pro); 0: one tier.</summary>
    public long TierAbovePromptTokens { get; set; }
    public decimal InputPerMillionAbove { get; set; }
    public decimal CachedInputPerMillionAbove { get; set; }
    public decimal OutputPerMillionAbove { get; set; }

    /// <summary>The model's context window in tokens (what a request may hold, prompt and answer together).</summary>
    public long ContextWindowTokens { get; set; } = 128_000;

    public decimal Cost(long input, long cachedInput, long output)
    {
        var above = TierAbovePromptTokens > 0 && input > TierAbovePromptTokens;
        var cached = Math.Clamp(cachedInput, 0, input);
        return ((input - cached) * (above ? InputPerMillionAbove : InputPerMillion)
            + cached * (above ? CachedInputPerMillionAbove : CachedInputPerMillion)
            + output * (above ? OutputPerMillionAbove : OutputPerMillion)) / 1_000_000m;
    }
}

/// <summary>
/// The price table (<c>Agent:Prices</c> overrides or adds models). These are the providers' list prices as of
/// <see cref="AsOf"/>; a model missing from the table is never priced as 0 USD: its tokens count against the token
/// budget and the task shows "price unknown".
/// </summary>
public static class ModelPrices
{
    public const string AsOf = "2026-11-01";

    public static Dictionary<string, ModelPrice> Defaults() => new(StringComparer.OrdinalIgnoreCase)
    {
        // https://openai.com/api/pricing — cached input is half price.
        ["gpt-4o"] = new() { InputPerMillion = 2.50m, CachedInputPerMillion = 1.25m, OutputPerMillion = 10.00m, ContextWindowTokens = 128_000 },
        ["gpt-4o-mini"] = new() { InputPerMillion = 0.15m, CachedInputPerMillion = 0.075m, OutputPerMillion = 0.60m, ContextWindowTokens = 128_000 },
        ["gpt-4.1"] = new() { InputPerMillion = 2.00m, CachedInputPerMillion = 0.50m, OutputPerMillion = 8.00m, ContextWindowTokens = 1_047_576 },
        // https://ai.google.dev/gemini-api/docs/pricing — implicit cache hits at a quarter of the input price;
        // 2.5 Pro bills prompts above 200k tokens at a higher tier.
        ["gemini-2.5-pro"] = new()
        {
            InputPerMillion = 1.25m, CachedInputPerMillion = 0.3125m, OutputPerMillion = 10.00m,
            TierAbovePromptTokens = 200_000, InputPerMillionAbove = 2.50m, CachedInputPerMillionAbove = 0.625m, OutputPerMillionAbove = 15.00m,
            ContextWindowTokens = 1_048_576,
        },
        ["gemini-2.5-flash"] = new() { InputPerMillion = 0.30m, CachedInputPerMillion = 0.075m, OutputPerMillion = 2.50m, ContextWindowTokens = 1_048_576 },
        // The scripted brain costs nothing.
        [BrainSettings.OfflineModel] = new() { ContextWindowTokens = 1_000_000 },
    };
}
