using System.Text.Json;
using System.Text.Json.Serialization;

namespace Osiris.Agent.Brains.Gemini;

// The subset of Gemini's REST wire format (v1beta generateContent / streamGenerateContent) that the brain uses.
// Field names follow https://ai.google.dev/api/generate-content; unknown response fields are ignored.

internal sealed record GeminiRequest(
    IReadOnlyList<GeminiContent> Contents,
    GeminiContent? SystemInstruction = null,
    IReadOnlyList<GeminiTool>? Tools = null,
    GeminiToolConfig? ToolConfig = null,
    GeminiGenerationConfig? GenerationConfig = null);

internal sealed record GeminiContent(string? Role, IReadOnlyList<GeminiPart>? Parts);

internal sealed record GeminiPart(
    string? Text = null,
    bool? Thought = null,
    GeminiInlineData? InlineData = null,
    GeminiFunctionCall? FunctionCall = null,
    GeminiFunctionResponse? FunctionResponse = null,
    string? ThoughtSignature = null);

internal sealed record GeminiInlineData(string MimeType, string Data);

internal sealed record GeminiFunctionCall(string Name, JsonElement? Args = null, string? Id = null);

internal sealed record GeminiFunctionResponse(string Name, JsonElement Response, string? Id = null);

internal sealed record GeminiTool(IReadOnlyList<GeminiFunctionDeclaration> FunctionDeclarations);

internal sealed record GeminiFunctionDeclaration(string Name, string? Description, JsonElement? Parameters);

internal sealed record GeminiToolConfig(GeminiFunctionCallingConfig FunctionCallingConfig);

internal sealed record GeminiFunctionCallingConfig(string Mode, IReadOnlyList<string>? AllowedFunctionNames = null);

internal sealed record GeminiGenerationConfig(
    float? Temperature = null,
    float? TopP = null,
    int? TopK = null,
    int? MaxOutputTokens = null,
    IReadOnlyList<string>? StopSequences = null,
    long? Seed = null,
    float? PresencePenalty = null,
    float? FrequencyPenalty = null,
    string? ResponseMimeType = null,
    GeminiThinkingConfig? ThinkingConfig = null);

/// <summary><c>includeThoughts</c>: the model's thought summaries come back as parts marked <c>thought: true</c>.</summary>
internal sealed record GeminiThinkingConfig(bool? IncludeThoughts = null, int? ThinkingBudget = null);

internal sealed record GeminiResponse(
    IReadOnlyList<GeminiCandidate>? Candidates,
    GeminiUsageMetadata? UsageMetadata,
    string? ModelVersion,
    string? ResponseId,
    GeminiPromptFeedback? PromptFeedback = null,
    GeminiError? Error = null);

internal sealed record GeminiPromptFeedback(string? BlockReason, string? BlockReasonMessage = null);

internal sealed record GeminiCandidate(GeminiContent? Content, string? FinishReason, string? FinishMessage = null);

internal sealed record GeminiUsageMetadata(
    int? PromptTokenCount,
    int? CandidatesTokenCount,
    int? TotalTokenCount,
    int? ThoughtsTokenCount = null,
    int? CachedContentTokenCount = null);

internal sealed record GeminiErrorEnvelope(GeminiError? Error);

internal sealed record GeminiError(int? Code, string? Message, string? Status, IReadOnlyList<JsonElement>? Details = null);

internal static class GeminiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
