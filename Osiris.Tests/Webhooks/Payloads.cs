using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Webhooks;

/// <summary>Webhook bodies shaped exactly as Meta and Mailgun document them, and their signatures.</summary>
public static class Payloads
{
    public static string WhatsAppText(string messageId, string from, string name, string body) => $$$"""
        {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"{{{BackboneFixture.WhatsAppPhoneNumberId}}}"},"contacts":[{"profile":{"name":"{{{name}}}"},"wa_id":"{{{from}}}"}],"messages":[{"from":"{{{from}}}","id":"{{{messageId}}}","timestamp":"{{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}}}","text":{"body":"{{{body}}}"},"type":"text"}]},"field":"messages"}]}]}
        """;

    public static string WhatsAppImage(string messageId, string from, string name, string caption) => $$$"""
        {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"{{{BackboneFixture.WhatsAppPhoneNumberId}}}"},"contacts":[{"profile":{"name":"{{{name}}}"},"wa_id":"{{{from}}}"}],"messages":[{"from":"{{{from}}}","id":"{{{messageId}}}","timestamp":"1730000000","type":"image","image":{"caption":"{{{caption}}}","mime_type":"image/jpeg","sha256":"abc","id":"1234"}}]},"field":"messages"}]}]}
        """;

    public static string WhatsAppStatus(string messageId, string recipient) => $$$"""
        {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"{{{BackboneFixture.WhatsAppPhoneNumberId}}}"},"statuses":[{"id":"{{{messageId}}}","status":"delivered","timestamp":"1730000000","recipient_id":"{{{recipient}}}"}]},"field":"messages"}]}]}
        """;

    public static string Sign(byte[] body, string secret = BackboneFixture.WhatsAppSecret) =>
        "sha256=" + Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)).ToLowerInvariant();

    public static HttpRequestMessage WhatsAppPost(string json, string? signature = "auto")
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/whatsapp") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (signature is not null)
        {
            request.Headers.Add("X-Hub-Signature-256", signature == "auto" ? Sign(bytes) : signature);
        }
        return request;
    }

    public static MultipartFormDataContent Mailgun(string from, string subject, string body, string messageId,
        string? inReplyTo = null, long? timestamp = null, string? token = null, string key = BackboneFixture.EmailSigningKey)
    {
        var ts = (timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString(CultureInfo.InvariantCulture);
        var tk = token ?? Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N")[..18];
        var signature = Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(ts + tk))).ToLowerInvariant();
        var form = new MultipartFormDataContent
        {
            { new StringContent("bounce+abc@example.org"), "sender" },
            { new StringContent(from), "from" },
            { new StringContent("support@osiris.example"), "recipient" },
            { new StringContent(subject), "subject" },
            { new StringContent(body), "body-plain" },
            { new StringContent($"<{messageId}>"), "Message-Id" },
            { new StringContent(ts), "timestamp" },
            { new StringContent(tk), "token" },
            { new StringContent(signature), "signature" },
        };
        if (inReplyTo is not null)
        {
            form.Add(new StringContent($"<{inReplyTo}>"), "In-Reply-To");
            form.Add(new StringContent($"<{inReplyTo}>"), "References");
        }
        return form;
    }
}
