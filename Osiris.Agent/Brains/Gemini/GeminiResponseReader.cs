using Microsoft.Extensions.AI;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>Turns a <c>GenerateContentResponse</c> (whole, or one streamed chunk) into a ChatResponse or ChatResponseUpdate.</summary>
internal static class GeminiResponseReader
{
    public static ChatResponse ToChatResponse(GeminiResponse response, string requestedModel)
    {
        var candidate = response.Candidates?.FirstOrDefault();
        var contents = Contents(candidate);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents) { MessageId = response.ResponseId })
        {
            ResponseId = response.ResponseId,
            ModelId = response.ModelVersion ?? requestedModel,
            FinishReason = FinishReason(candidate?.FinishReason ?? response.PromptFeedback?.BlockReason, contents.OfType<FunctionCallContent>().Any()),
            Usage = Usage(response.UsageMetadata),
            RawRepresentation = response,
        };
    }

    /// <param name="sawFunctionCall">Whether this or an earlier chunk of the same stream held a function call.</param>
    /// <param name="withUsage">
    /// Gemini repeats a running <c>usageMetadata</c> on every chunk; only the last one goes out as UsageContent, because
    /// <c>ToChatResponse()</c> adds up every UsageContent it sees.
    /// </param>
    public static ChatResponseUpdate ToUpdate(GeminiResponse chunk, string requestedModel, bool sawFunctionCall, bool withUsage)
    {
        var candidate = chunk.Candidates?.FirstOrDefault();
        var contents = Contents(candidate);
        if (withUsage && Usage(chunk.UsageMetadata) is { } usage)
        {
            contents.Add(new UsageContent(usage));
        }
        return new ChatResponseUpdate(ChatRole.Assistant, contents)
        {
            ResponseId = chunk.ResponseId,
            MessageId = chunk.ResponseId,
            ModelId = chunk.ModelVersion ?? requestedModel,
            FinishReason = FinishReason(candidate?.FinishReason ?? chunk.PromptFeedback?.BlockReason, sawFunctionCall || contents.OfType<FunctionCallContent>().Any()),
            RawRepresentation = chunk,
        };
    }

    public static bool IsLast(GeminiResponse chunk) =>
        chunk.Candidates?.FirstOrDefault()?.FinishReason is not null || chunk.PromptFeedback?.BlockReason is not null;

    public static bool HasFunctionCall(GeminiResponse chunk) =>
        chunk.Candidates?.FirstOrDefault()?.Content?.Parts?.Any(p => p.FunctionCall is not null) == true;

    private static List<AIContent> Contents(GeminiCandidate? candidate) =>
        [.. (candidate?.Content?.Parts ?? []).SelectMany(GeminiParts.ToContents)];

    public static UsageDetails? Usage(GeminiUsageMetadata? usage) => usage is null ? null : new UsageDetails
    {
        InputTokenCount = usage.PromptTokenCount,
        // Thinking tokens are billed as output, and OpenAI's completion tokens include reasoning too: keep budgets comparable.
        OutputTokenCount = usage.CandidatesTokenCount is null && usage.ThoughtsTokenCount is null
            ? null
            : (usage.CandidatesTokenCount ?? 0) + (usage.ThoughtsTokenCount ?? 0),
        ReasoningTokenCount = usage.ThoughtsTokenCount,
        CachedInputTokenCount = usage.CachedContentTokenCount,
        TotalTokenCount = usage.TotalTokenCount,
    };

    // Gemini says STOP after function calls too; the function-calling middleware only cares that calls are present,
    // but the loop's events read better with ToolCalls.
    private static ChatFinishReason? FinishReason(string? reason, bool hasFunctionCall) => reason switch
    {
        null or "FINISH_REASON_UNSPECIFIED" => null,
        "STOP" => hasFunctionCall ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
        "MAX_TOKENS" => ChatFinishReason.Length,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" or "LANGUAGE" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };
}
