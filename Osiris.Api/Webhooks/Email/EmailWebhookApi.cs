using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MimeKit;
using Osiris.Api.Channels;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Api.Webhooks.Email;

/// <summary>
/// Inbound e-mail: Mailgun's inbound-route form post (signed: HMAC-SHA256 of timestamp+token), or raw MIME
/// (<c>message/rfc822</c>, which carries no signature and therefore needs the API key).
/// </summary>
public static class EmailWebhookApi
{
    public const int MaxBodyBytes = 10 * 1024 * 1024;
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    public static RouteGroupBuilder MapEmailWebhook(this IEndpointRouteBuilder app)
    {
        // Anonymous as far as the API's scheme goes: each request proves itself (a signature, or the ingestion token / api-key).
        var group = app.MapGroup("/webhooks/email").AllowAnonymous().WithTags("Webhooks");
        group.MapPost("/", Receive).DisableAntiforgery();
        return group;
    }

    /// <summary>The services <see cref="Receive"/> works with.</summary>
    public sealed record Services(
        OsirisDbContext Db, EventPublisher Publisher, TimeProvider Time, IOptions<ChannelOptions> Options,
        IConnectionMultiplexer Redis);

    public static async Task<Results<Ok<EmailReceipt>, ProblemHttpResult>> Receive(
        HttpContext http, [AsParameters] Services services, CancellationToken ct)
    {
        var (db, publisher, time, options, redis) = services;
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            return WebhookBody.TooLarge(MaxBodyBytes);
        }

        InboundMessage message;
        if (http.Request.ContentType?.StartsWith("message/rfc822", StringComparison.OrdinalIgnoreCase) == true)
        {
            // The ingestion token can do nothing else; the API key still works here for compatibility.
            // The api-key or an admin's token also may post raw MIME (what worked before the ingestion token existed).
            if (!TokenMatches(http, options.Value.Email.IngestToken) && !http.User.IsInRole(Roles.Admin))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                    detail: "Raw MIME carries no signature: send 'Authorization: Bearer <email-ingest-token>' (or the api-key).");
            }
            var raw = await WebhookBody.ReadAsync(http.Request, MaxBodyBytes, ct);
            if (raw is null)
            {
                return WebhookBody.TooLarge(MaxBodyBytes);
            }
            MimeMessage mime;
            try
            {
                mime = await MimeMessage.LoadAsync(new MemoryStream(raw), ct);
            }
            catch (FormatException ex)
            {
                return Bad("Malformed MIME message", ex.Message);
            }
            message = FromMime(mime, raw, options.Value.Email.AuthServId);
        }
        else if (http.Request.HasFormContentType)
        {
            var key = options.Value.Email.SigningKey;
            if (key.Length == 0)
            {
                return WebhookBody.NotConfigured("E-mail", "email-signing-key");
            }
            IFormCollection form;
            try
            {
                form = await new FormFeature(http.Request, new FormOptions { MultipartBodyLengthLimit = MaxBodyBytes }).ReadFormAsync(ct);
            }
            catch (InvalidDataException ex)
            {
                return Bad("Malformed form", ex.Message);
            }
            if (await CheckSignatureAsync(form, key, time, redis) is { } refused)
            {
                return refused;
            }
            message = FromMailgun(form, options.Value.Email.AuthServId);
        }
        else
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported content type",
                detail: "Post Mailgun's form (multipart/form-data or application/x-www-form-urlencoded) or raw MIME (message/rfc822).");
        }

        if (message.SenderAddress.Length > 320)
        {
            return Bad("Sender address too long", "An e-mail address has at most 320 characters.");
        }
        var result = await ChannelIntake.AcceptAsync(db, publisher, time, message, ct);
        return TypedResults.Ok(new EmailReceipt(result.Outcome.ToString(), result.TaskId));
    }

    private static async Task<ProblemHttpResult?> CheckSignatureAsync(IFormCollection form, string key, TimeProvider time, IConnectionMultiplexer redis)
    {
        var token = form["token"].ToString();
        if (MailgunSignatureProblem(key, form["timestamp"].ToString(), token, form["signature"].ToString(), time.GetUtcNow()) is { } problem)
        {
            return Unauthorized(problem);
        }
        // A token counts once, across every replica, for longer than a timestamp stays acceptable.
        var fresh = await redis.GetDatabase().StringSetAsync($"osiris:mailgun-token:{token}", "1", MaxAge * 2, When.NotExists);
        return fresh ? null : Unauthorized("This token was already used.");
    }

    /// <summary>
    /// Null when <paramref name="signature"/> is the hex HMAC-SHA256 of timestamp+token with the signing key (compared in
    /// constant time) and the timestamp is within 5 minutes of <paramref name="now"/>; otherwise why not.
    /// </summary>
    public static string? MailgunSignatureProblem(string key, string timestamp, string token, string signature, DateTimeOffset now)
    {
        if (timestamp.Length == 0 || token.Length == 0 || signature.Length == 0)
        {
            return "The form must carry Mailgun's timestamp, token and signature.";
        }
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(timestamp + token));
        byte[] presented;
        try
        {
            presented = Convert.FromHexString(signature);
        }
        catch (FormatException)
        {
            return "The signature is not hex.";
        }
        if (!CryptographicOperations.FixedTimeEquals(presented, expected))
        {
            return "The signature does not match timestamp+token.";
        }
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ||
            seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds() ||
            (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > MaxAge)
        {
            return "The timestamp is more than 5 minutes away from now.";
        }
        return null;
    }

    private static bool TokenMatches(HttpContext http, string token)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return token.Length > 0 && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    /// <summary>
    /// Mailgun's form: authentic when its forwarded headers carry an aligned pass from our authserv-id, or Mailgun's own
    /// SPF check passed for an envelope sender of the From domain (Mailgun's DKIM verdict names no domain, so alone it
    /// proves nothing).
    /// </summary>
    private static bool MailgunAuthenticated(IFormCollection form, string from, string authServId)
    {
        var results = new List<string>();
        if (form["message-headers"].ToString() is { Length: > 0 } headers)
        {
            try
            {
                foreach (var pair in System.Text.Json.JsonDocument.Parse(headers).RootElement.EnumerateArray())
                {
                    if (pair.GetArrayLength() == 2 && string.Equals(pair[0].GetString(), "Authentication-Results", StringComparison.OrdinalIgnoreCase))
                    {
                        results.Add(pair[1].GetString() ?? "");
                    }
                }
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
            {
                // Unreadable headers prove nothing.
            }
        }
        if (EmailAuthenticity.IsAligned(results, authServId, from))
        {
            return true;
        }
        var envelope = EmailAuthenticity.DomainOf(form["sender"].ToString());
        return string.Equals(form["X-Mailgun-Spf"].ToString(), "Pass", StringComparison.OrdinalIgnoreCase)
            && envelope is not null && envelope == EmailAuthenticity.DomainOf(from);
    }

    private static InboundMessage FromMailgun(IFormCollection form, string authServId)
    {
        var from = form["from"].ToString();
        var sender = form["sender"].ToString();
        MailboxAddress.TryParse(from, out var mailbox);
        var address = mailbox?.Address ?? (sender.Length > 0 ? sender : from);
        var subject = form["subject"].ToString();
        var body = form["body-plain"].ToString();
        var messageId = NormaliseId(form["Message-Id"].ToString());
        var threadIds = ThreadIds(form["In-Reply-To"].ToString(), form["References"].ToString());
        if (messageId.Length == 0)
        {
            messageId = Fallback(address, subject, body, form["timestamp"].ToString());
        }
        return Build(messageId, address, string.IsNullOrWhiteSpace(mailbox?.Name) ? null : mailbox.Name, subject, body, threadIds,
            MailgunAuthenticated(form, address, authServId));
    }

    private static InboundMessage FromMime(MimeMessage mime, byte[] raw, string authServId)
    {
        var mailbox = mime.From.Mailboxes.FirstOrDefault();
        var address = mailbox?.Address ?? "unknown";
        var body = mime.TextBody ?? mime.HtmlBody ?? "";
        var messageId = mime.MessageId is { Length: > 0 } id ? id : Convert.ToHexString(SHA256.HashData(raw));
        var threadIds = new List<string>();
        if (mime.InReplyTo is { Length: > 0 } inReplyTo)
        {
            threadIds.Add(inReplyTo);
        }
        threadIds.AddRange(mime.References);
        var authenticated = EmailAuthenticity.IsAligned(
            mime.Headers.Where(h => h.Id == HeaderId.AuthenticationResults).Select(h => h.Value), authServId, address);
        return Build(messageId, address, string.IsNullOrWhiteSpace(mailbox?.Name) ? null : mailbox.Name, mime.Subject ?? "", body, threadIds,
            authenticated);
    }

    private static InboundMessage Build(string messageId, string address, string? name, string subject, string body, IReadOnlyList<string> threadIds,
        bool authenticated) =>
        new(TaskSources.Email, messageId.Length <= 900 ? messageId : Fallback(messageId), address, name,
            string.IsNullOrWhiteSpace(subject) ? ChannelIntake.TitleFrom(body, $"E-mail from {address}") : ChannelIntake.TitleFrom(subject, subject),
            body, ReplyThread: messageId, ReplySubject: subject, ThreadIds: threadIds, Authenticated: authenticated);

    /// <summary>Message-IDs compare without their angle brackets, as MimeKit gives them.</summary>
    public static string NormaliseId(string id) => id.Trim().Trim('<', '>').Trim();

    private static List<string> ThreadIds(string inReplyTo, string references) =>
        $"{inReplyTo} {references}".Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries)
            .Select(NormaliseId).Where(i => i.Length > 0).Distinct().ToList();

    private static string Fallback(params string[] parts) =>
        "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', parts))));

    private static ProblemHttpResult Unauthorized(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Bad signature", detail: detail);

    private static ProblemHttpResult Bad(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
