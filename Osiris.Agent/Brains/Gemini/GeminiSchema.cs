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
/// </remarks>
internal static class GeminiSchema
{
    private static readonly HashSet<string> Kept =
    [
        "type", "format", "title", "description", "nullable", "enum", "default", "example",
        "properties", "required", "propertyOrdering", "minProperties", "maxProperties",
        "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf",
    ];

    public static JsonElement? ForParameters(JsonElement jsonSchema)
    {
        if (jsonSchema.ValueKind != JsonValueKind.Object
            || !jsonSchema.TryGetProperty("properties", out var properties)
            || properties.ValueKind != JsonValueKind.Object
            || !properties.EnumerateObject().Any())
        {
            return null;
        }
        var cleaned = Clean(JsonNode.Parse(jsonSchema.GetRawText())!.AsObject());
        return JsonSerializer.SerializeToElement(cleaned, GeminiJson.Options);
    }

    private static JsonObject Clean(JsonObject schema)
    {
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
                        cleaned[property] = propertySchema is JsonObject o ? Clean(o) : new JsonObject();
                    }
                    result[name] = cleaned;
                    break;
                case "items" when value is JsonObject items:
                    result[name] = Clean(items);
                    break;
                case "anyOf" when value is JsonArray alternatives:
                    result[name] = new JsonArray([.. alternatives.OfType<JsonObject>().Select(a => (JsonNode)Clean(a))]);
                    break;
                default:
                    result[name] = value.DeepClone();
                    break;
            }
        }
        return result;
    }
}
