using System.Text.Json;

namespace Osiris.Tests.Agent;

/// <summary>
/// The request rules of OpenAI's Chat Completions that a lenient fake would let through, checked the way the real
/// service checks them, with its own error messages. Null when the body is acceptable.
/// </summary>
public static class OpenAIRules
{
    public sealed record Violation(string Message, string? Param, string? Code);

    public static Violation? Check(JsonElement body)
    {
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        for (var i = 0; i < messages.Count; i++)
        {
            var role = messages[i].GetProperty("role").GetString();
            if (role == "assistant" && messages[i].TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            {
                var ids = new List<string>();
                for (var c = 0; c < calls.GetArrayLength(); c++)
                {
                    var id = calls[c].GetProperty("id").GetString() ?? "";
                    if (id.Length > 40)
                    {
                        return new($"Invalid 'messages[{i}].tool_calls[{c}].id': string too long. Expected a string with maximum length 40, but got a string with length {id.Length} instead.",
                            $"messages[{i}].tool_calls[{c}].id", "string_above_max_length");
                    }
                    ids.Add(id);
                }
                // Directly after: one tool message per call id, nothing in between.
                var answered = new HashSet<string>();
                var j = i + 1;
                for (; j < messages.Count && messages[j].GetProperty("role").GetString() == "tool"; j++)
                {
                    answered.Add(messages[j].GetProperty("tool_call_id").GetString() ?? "");
                }
                var missing = ids.Where(id => !answered.Contains(id)).ToList();
                if (missing.Count > 0)
                {
                    return new("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
                               $"The following tool_call_ids did not have response messages: {string.Join(", ", missing)}", $"messages.[{j}].role", null);
                }
            }
            if (role == "tool")
            {
                // Must belong to the block of tool messages right after an assistant message with tool_calls holding its id.
                var k = i - 1;
                while (k >= 0 && messages[k].GetProperty("role").GetString() == "tool")
                {
                    k--;
                }
                var id = messages[i].GetProperty("tool_call_id").GetString();
                var owner = k >= 0 && messages[k].GetProperty("role").GetString() == "assistant"
                    && messages[k].TryGetProperty("tool_calls", out var ownerCalls) && ownerCalls.ValueKind == JsonValueKind.Array
                    && ownerCalls.EnumerateArray().Any(c => c.GetProperty("id").GetString() == id);
                if (!owner)
                {
                    return new("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                        $"messages.[{i}].role", null);
                }
            }
        }
        return null;
    }

    /// <summary>The 400 body the real API sends for a rule it enforces.</summary>
    public static object ErrorBody(Violation v) => new { error = new { message = v.Message, type = "invalid_request_error", param = v.Param, code = v.Code } };
}
