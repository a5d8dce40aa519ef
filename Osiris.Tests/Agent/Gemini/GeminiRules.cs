using System.Text.Json;

namespace Osiris.Tests.Agent.Gemini;

/// <summary>
/// The request rules of Gemini's <c>generateContent</c> that a lenient fake would let through, with the messages the
/// real service answers (HTTP 400, status INVALID_ARGUMENT). Null when the body is acceptable.
/// </summary>
/// <remarks>
/// Two rules are stricter than the service is documented to be — roles must alternate, and a request must end with a
/// user turn — so that OSIRIS never depends on the service tolerating either; the rest are the documented refusals.
/// </remarks>
public static class GeminiRules
{
    /// <summary>The keys Gemini's Schema object defines; anything else is "Unknown name … Cannot find field."</summary>
    private static readonly HashSet<string> SchemaFields =
    [
        "type", "format", "title", "description", "nullable", "enum", "default", "example", "properties", "required", "propertyOrdering",
        "minProperties", "maxProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf",
    ];

    public static string? Check(JsonElement body)
    {
        var contents = body.GetProperty("contents").EnumerateArray().ToList();
        for (var i = 0; i < contents.Count; i++)
        {
            var role = contents[i].TryGetProperty("role", out var r) ? r.GetString() : "user";
            var parts = contents[i].GetProperty("parts").EnumerateArray().ToList();
            var previousRole = i > 0 ? contents[i - 1].TryGetProperty("role", out var p) ? p.GetString() : "user" : null;
            if (previousRole == role)
            {
                return "Please ensure that multiturn requests alternate between user and model.";
            }
            var calls = parts.Count(part => part.TryGetProperty("functionCall", out _));
            var responses = parts.Count(part => part.TryGetProperty("functionResponse", out _));
            if (calls > 0 && (role != "model" || previousRole != "user"))
            {
                return "Please ensure that function call turn comes immediately after a user turn or after a function response turn.";
            }
            if (responses > 0)
            {
                var previousCalls = i > 0 ? contents[i - 1].GetProperty("parts").EnumerateArray().Count(part => part.TryGetProperty("functionCall", out _)) : 0;
                if (previousCalls == 0)
                {
                    return "Please ensure that function response turn comes immediately after a function call turn.";
                }
                if (previousCalls != responses)
                {
                    return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";
                }
            }
            if (i == contents.Count - 1 && role != "user")
            {
                return "Please ensure that single turn requests end with a user role or the role field is empty.";
            }
        }
        if (body.TryGetProperty("tools", out var tools))
        {
            var t = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                var f = 0;
                foreach (var declaration in tool.GetProperty("functionDeclarations").EnumerateArray())
                {
                    if (declaration.TryGetProperty("parameters", out var parameters)
                        && CheckSchema(parameters, $"tools[{t}].function_declarations[{f}].parameters") is { } error)
                    {
                        return error;
                    }
                    f++;
                }
                t++;
            }
        }
        return null;
    }

    private static string? CheckSchema(JsonElement schema, string at)
    {
        foreach (var property in schema.EnumerateObject())
        {
            if (!SchemaFields.Contains(property.Name))
            {
                return $"Invalid JSON payload received. Unknown name \"{property.Name}\" at '{at}': Cannot find field.";
            }
        }
        if (schema.TryGetProperty("enum", out _) && (!schema.TryGetProperty("type", out var type) || !string.Equals(type.GetString(), "string", StringComparison.OrdinalIgnoreCase)))
        {
            return $"* GenerateContentRequest.{at}.enum: only allowed for STRING type";
        }
        if (schema.TryGetProperty("type", out var objectType) && string.Equals(objectType.GetString(), "object", StringComparison.OrdinalIgnoreCase)
            && schema.TryGetProperty("properties", out var props) && !props.EnumerateObject().Any())
        {
            return $"* GenerateContentRequest.{at}.properties: should be non-empty for OBJECT type";
        }
        if (schema.TryGetProperty("properties", out var properties))
        {
            foreach (var property in properties.EnumerateObject())
            {
                if (CheckSchema(property.Value, $"{at}.properties[{property.Name}].value") is { } error)
                {
                    return error;
                }
            }
        }
        if (schema.TryGetProperty("items", out var items) && CheckSchema(items, $"{at}.items") is { } itemError)
        {
            return itemError;
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            foreach (var alternative in anyOf.EnumerateArray())
            {
                if (CheckSchema(alternative, $"{at}.any_of") is { } error)
                {
                    return error;
                }
            }
        }
        return null;
    }

    public static string ErrorBody(string message) =>
        JsonSerializer.Serialize(new { error = new { code = 400, message, status = "INVALID_ARGUMENT" } });
}
