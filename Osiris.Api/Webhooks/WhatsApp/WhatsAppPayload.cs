using System.Text.Json;
using System.Text.Json.Serialization;

namespace Osiris.Api.Webhooks.WhatsApp;

// Meta's documented webhook shape for the WhatsApp Cloud API ("messages" field), snake_case on the wire.
public sealed record WhatsAppWebhook(string? Object, List<WhatsAppEntry>? Entry);

public sealed record WhatsAppEntry(string? Id, List<WhatsAppChange>? Changes);

public sealed record WhatsAppChange(string? Field, WhatsAppValue? Value);

public sealed record WhatsAppValue(
    string? MessagingProduct,
    WhatsAppMetadata? Metadata,
    List<WhatsAppContact>? Contacts,
    List<WhatsAppMessage>? Messages,
    List<WhatsAppStatus>? Statuses);

public sealed record WhatsAppMetadata(string? DisplayPhoneNumber, string? PhoneNumberId);

public sealed record WhatsAppContact(WhatsAppProfile? Profile, string? WaId);

public sealed record WhatsAppProfile(string? Name);

public sealed record WhatsAppMessage(string? Id, string? From, string? Timestamp, string? Type, WhatsAppText? Text)
{
    /// <summary>The other typed parts (image, audio, document, location, …) as Meta sent them.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; init; }

    /// <summary>What a person would read: the text, or a note of what was received (with its caption, if any).</summary>
    public string Describe()
    {
        if (Type == "text" && Text?.Body is { } body)
        {
            return body;
        }
        var kind = Type ?? "unknown";
        var caption = Other is not null && Other.TryGetValue(kind, out var part) && part.ValueKind == JsonValueKind.Object
            && part.TryGetProperty("caption", out var c) ? c.GetString() : null;
        return caption is null ? $"[{kind} message received]" : $"[{kind} message received] {caption}";
    }
}

public sealed record WhatsAppText(string? Body);

public sealed record WhatsAppStatus(string? Id, string? Status, string? Timestamp, string? RecipientId);

public static class WhatsAppJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
