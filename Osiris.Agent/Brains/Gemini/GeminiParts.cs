using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>
/// Maps Gemini <c>parts[]</c> to Microsoft.Extensions.AI contents and back, carrying thought signatures unchanged.
/// </summary>
/// <remarks>
/// Where a signature rides:
/// <list type="bullet">
/// <item><c>functionCall</c> part → <see cref="FunctionCallContent"/> with the signature in
/// <c>AdditionalProperties["thoughtSignature"]</c>; re-emitted on that same functionCall part.</item>
/// <item><c>thought</c> part → <see cref="TextReasoningContent"/> with the signature as <see cref="TextReasoningContent.ProtectedData"/>.</item>
/// <item><c>text</c> part → <see cref="TextContent"/> followed by an empty <see cref="TextReasoningContent"/> whose
/// <c>ProtectedData</c> is the signature; sending folds it back onto the text part before it. A text signature is not kept
/// in the TextContent's AdditionalProperties because <c>ToChatResponse()</c> (which FunctionInvokingChatClient uses for
/// streams) merges adjacent TextContents keeping only the first one's properties, and Gemini puts the signature on the
/// last chunk; TextReasoningContent with ProtectedData survives that merge (the convention Google's own adapter uses).</item>
/// </list>
/// </remarks>
internal static class GeminiParts
{
    /// <summary>
    /// Ids we make up for calls Gemini sent without one; they never go back on the wire. 27 characters, so the same
    /// history stays valid for OpenAI (call ids of at most 40) after a switch.
    /// </summary>
    public const string GeneratedCallIdPrefix = "gc-";

    /// <summary>What earlier releases minted (44 characters); still recognised in stored histories.</summary>
    public const string LegacyGeneratedCallIdPrefix = "gemini-call-";

    public static string NewCallId() => GeneratedCallIdPrefix + Guid.NewGuid().ToString("N")[..24];

    /// <summary>Google's documented stand-in for turns whose function calls did not come from Gemini (another brain wrote them).</summary>
    private const string SkipValidatorSignature = "skip_thought_signature_validator";

    public static List<AIContent> ToContents(GeminiPart part)
    {
        var contents = new List<AIContent>();
        if (part.FunctionCall is { } call)
        {
            var content = new FunctionCallContent(call.Id ?? NewCallId(), call.Name, Arguments(call.Args))
            {
                RawRepresentation = part,
            };
            if (part.ThoughtSignature is { } signature)
            {
                content.AdditionalProperties = new() { [GeminiChatClient.ThoughtSignatureKey] = signature };
            }
            contents.Add(content);
        }
        else if (part.Thought == true)
        {
            contents.Add(new TextReasoningContent(part.Text ?? "") { ProtectedData = part.ThoughtSignature, RawRepresentation = part });
        }
        else if (part.Text is { } text)
        {
            if (text.Length > 0)
            {
                contents.Add(new TextContent(text) { RawRepresentation = part });
            }
            if (part.ThoughtSignature is { } signature)
            {
                contents.Add(new TextReasoningContent("") { ProtectedData = signature, RawRepresentation = part });
            }
        }
        else if (part.InlineData is { } data)
        {
            contents.Add(new DataContent(Convert.FromBase64String(data.Data), data.MimeType) { RawRepresentation = part });
        }
        return contents;
    }

    public static List<GeminiPart> From(IEnumerable<AIContent> contents, Dictionary<string, string> functionNames)
    {
        var parts = new List<GeminiPart>();
        foreach (var content in contents)
        {
            switch (content)
            {
                case FunctionCallContent call:
                    functionNames[call.CallId] = call.Name;
                    parts.Add(new GeminiPart(
                        FunctionCall: new GeminiFunctionCall(call.Name, Arguments(call.Arguments), WireId(call.CallId)),
                        ThoughtSignature: SignatureOf(call)));
                    break;
                case FunctionResultContent result:
                    // Older Gemini API versions match responses to calls by name, so the name recorded for the call is required.
                    if (!functionNames.TryGetValue(result.CallId, out var name))
                    {
                        throw new InvalidOperationException(
                            $"The function result for call '{result.CallId}' has no function call before it in the conversation; Gemini needs the function's name.");
                    }
                    parts.Add(new GeminiPart(FunctionResponse: new GeminiFunctionResponse(name, GeminiRequestBuilder.FunctionResponse(result), WireId(result.CallId))));
                    break;
                case TextReasoningContent { Text: null or "", ProtectedData: { } signature }:
                    if (parts.Count > 0 && parts[^1] is { ThoughtSignature: null, FunctionResponse: null } previous)
                    {
                        parts[^1] = previous with { ThoughtSignature = signature };
                    }
                    else
                    {
                        parts.Add(new GeminiPart(Text: "", ThoughtSignature: signature));
                    }
                    break;
                case TextReasoningContent reasoning:
                    parts.Add(new GeminiPart(Text: reasoning.Text, Thought: true, ThoughtSignature: reasoning.ProtectedData));
                    break;
                case TextContent text when text.Text.Length > 0 || SignatureOf(text) is not null:
                    parts.Add(new GeminiPart(Text: text.Text, ThoughtSignature: SignatureOf(text)));
                    break;
                case DataContent data:
                    parts.Add(new GeminiPart(InlineData: new GeminiInlineData(data.MediaType, Convert.ToBase64String(data.Data.Span))));
                    break;
            }
        }
        return parts;
    }

    /// <summary>
    /// Gemini 3 rejects a model turn with function calls but no signature. Such a turn can only have been written by another
    /// brain (after a switch mid-task), so its first call gets the documented skip-validation signature; Gemini's own turns
    /// always carry theirs and pass through untouched.
    /// </summary>
    public static List<GeminiPart> WithForeignCallsMarked(List<GeminiPart> parts)
    {
        var first = parts.FindIndex(p => p.FunctionCall is not null);
        if (first >= 0 && parts.All(p => p.ThoughtSignature is null))
        {
            parts[first] = parts[first] with { ThoughtSignature = SkipValidatorSignature };
        }
        return parts;
    }

    private static string? SignatureOf(AIContent content) =>
        content.AdditionalProperties?.TryGetValue(GeminiChatClient.ThoughtSignatureKey, out var value) == true
            ? value switch { string s => s, JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(), _ => null }
            : null;

    private static string? WireId(string callId) =>
        callId.StartsWith(GeneratedCallIdPrefix, StringComparison.Ordinal) || callId.StartsWith(LegacyGeneratedCallIdPrefix, StringComparison.Ordinal)
            ? null : callId;

    private static Dictionary<string, object?>? Arguments(JsonElement? args) =>
        args is { ValueKind: JsonValueKind.Object } obj
            ? obj.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone())
            : null;

    private static JsonElement? Arguments(IDictionary<string, object?>? arguments) =>
        arguments is null ? null : JsonSerializer.SerializeToElement(arguments, AIJsonUtilities.DefaultOptions);
}
