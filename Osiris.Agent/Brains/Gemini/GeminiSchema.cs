using System.Text.Json;
using System.Text.Json.Nodes;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>
/// Turns a tool's JSON Schema (<c>AIFunction.JsonSchema</c>, or an MCP tool's <c>inputSchema</c>) into the OpenAPI-style
/// <c>Schema</c> object that <c>functionDeclarations[].parameters</c> accepts.
/// </summary>
/// <remarks>
/// Gemini answers 400 ("Unknown name ...") for JSON Schema keywords outside its Schema object, so this keeps only the
/// keywords that object defines and strips everything else — notably <c>$schema</c>, <c>$id</c>, <c>$comment</c>,
/// <c>additionalProperties</c>, <c>$ref</c>/<c>$defs</c>, <c>const</c>, <c>not</c>, <c>oneOf</c>/<c>allOf</c>,
/// <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c>, <c>uniqueItems</c> and <c>readOnly</c>. A type list such as
/// <c>["string","null"]</c> (what nullable .NET parameters produce) becomes <c>"type":"string","nullable":true</c>.
/// A function without parameters gets no <c>parameters</c> at all, since Gemini rejects an OBJECT with no properties.
/// <c>$ref</c>s to <c>$defs</c>/<c>definitions</c> are inlined (to a depth of <see cref="MaxRefDepth"/>; a deeper or
/// recursive reference becomes an untyped object). Gemini accepts <c>enum</c> only on strings: an enum of numbers is
/// moved into the description, and a <c>const</c> string becomes a one-value enum.
/// </remarks>
internal static class GeminiSchema
{
    private static readonly HashSet<string> Kept =
    [
        "type", "format", "title", "description", "nullable", "enum", "default", "example",
        "properties", "required", "propertyOrdering", "minProperties", "maxProperties",
        "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf",
    ];

    private const int MaxRefDepth = 8;

    public static JsonElement? ForParameters(JsonElement jsonSchema)
    {
        if (jsonSchema.ValueKind != JsonValueKind.Object
            || !jsonSchema.TryGetProperty("properties", out var properties)
            || properties.ValueKind != JsonValueKind.Object
            || !properties.EnumerateObject().Any())
        {
            return null;
        }
        var root = JsonNode.Parse(jsonSchema.GetRawText())!.AsObject();
        var cleaned = Clean(root, root, 0);
        return JsonSerializer.SerializeToElement(cleaned, GeminiJson.Options);
    }

    private static JsonObject Clean(JsonObject schema, JsonObject root, int depth)
    {
        if (schema["$ref"] is JsonValue reference && reference.TryGetValue<string>(out var pointer))
        {
            var target = Resolve(root, pointer);
            if (target is null || depth >= MaxRefDepth)
            {
                return new JsonObject { ["type"] = "object", ["description"] = schema["description"]?.DeepClone() ?? $"See {pointer}." };
            }
            var inlined = Clean(target, root, depth + 1);
            if (schema["description"] is { } own)
            {
                inlined["description"] = own.DeepClone();
            }
            return inlined;
        }

        var result = new JsonObject();
        foreach (var (name, value) in schema)
        {
            if (!Kept.Contains(name) || value is null)
            {
                continue;
            }
            switch (name)
            {
                case "type" when value is JsonArray types:
                    var named = types.Select(t => t?.GetValue<string>()).Where(t => t is not null && t != "null").ToList();
                    if (named.Count < types.Count)
                    {
                        result["nullable"] = true;
                    }
                    if (named.Count == 1)
                    {
                        result["type"] = named[0];
                    }
                    else if (named.Count > 1)
                    {
                        result["anyOf"] = new JsonArray([.. named.Select(t => (JsonNode)new JsonObject { ["type"] = t })]);
                    }
                    break;
                case "properties" when value is JsonObject properties:
                    var cleaned = new JsonObject();
                    foreach (var (property, propertySchema) in properties)
                    {
                        cleaned[property] = propertySchema is JsonObject o ? Clean(o, root, depth) : new JsonObject();
                    }
                    result[name] = cleaned;
                    break;
                case "items" when value is JsonObject items:
                    result[name] = Clean(items, root, depth);
                    break;
                case "anyOf" when value is JsonArray alternatives:
                    result[name] = new JsonArray([.. alternatives.OfType<JsonObject>().Select(a => (JsonNode)Clean(a, root, depth))]);
                    break;
                default:
                    result[name] = value.DeepClone();
                    break;
            }
        }
        if (schema["const"] is JsonValue constant && constant.TryGetValue<string>(out var only) && !result.ContainsKey("enum"))
        {
            result["enum"] = new JsonArray(only);
            result["type"] ??= "string";
        }
        if (result["enum"] is JsonArray values && (result["type"] is not JsonValue type || type.GetValue<string>() != "string"))
        {
            if (values.All(v => v is JsonValue j && j.TryGetValue<string>(out _)) && result["type"] is null)
            {
                result["type"] = "string";
            }
            else
            {
                // Gemini: "enum" is only for strings. The allowed values still reach the model through the description.
                result.Remove("enum");
                var list = string.Join(", ", values.Select(v => v?.ToJsonString()));
                result["description"] = $"{result["description"]?.GetValue<string>()} One of: {list}.".TrimStart();
            }
        }
        return result;
    }

    private static JsonObject? Resolve(JsonObject root, string pointer)
    {
        if (!pointer.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }
        JsonNode? node = root;
        foreach (var segment in pointer[2..].Split('/'))
        {
            node = node is JsonObject o ? o[segment.Replace("~1", "/").Replace("~0", "~")] : null;
        }
        return node as JsonObject;
    }
}
