using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Osiris.Api.Channels;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Webhooks.WhatsApp;

/// <summary>The WhatsApp Cloud API webhook: subscription handshake and signed message notifications.</summary>
public static class WhatsAppWebhookApi
{
    public const int MaxBodyBytes = 256 * 1024;

    public static RouteGroupBuilder MapWhatsAppWebhook(this IEndpointRouteBuilder app)
    {
        // Anonymous as far as the API's scheme goes: Meta signs every delivery (X-Hub-Signature-256).
        var group = app.MapGroup("/webhooks/whatsapp").AllowAnonymous().WithTags("Webhooks");
        group.MapGet("/", Verify);
        group.MapPost("/", Receive);
        return group;
    }

    /// <summary><c>hub.mode=subscribe</c> with the right verify token: echo the challenge as text/plain; 403 otherwise.</summary>
    public static Results<ContentHttpResult, ProblemHttpResult> Verify(
        [FromQuery(Name = "hub.mode")] string? mode,
        [FromQuery(Name = "hub.verify_token")] string? verifyToken,
        [FromQuery(Name = "hub.challenge")] string? challenge,
        IOptions<ChannelOptions> options)
    {
        var expected = options.Value.WhatsApp.VerifyToken;
        if (expected.Length == 0)
        {
            return WebhookBody.NotConfigured("WhatsApp", "whatsapp-verify-token");
        }
        var matches = mode == "subscribe" && verifyToken is not null && challenge is not null &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(verifyToken), Encoding.UTF8.GetBytes(expected));
        return matches
            ? TypedResults.Text(challenge, "text/plain")
            : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Verification failed",
                detail: "hub.mode must be 'subscribe' and hub.verify_token must match.");
    }

    public static async Task<Results<Ok<WhatsAppReceipt>, ProblemHttpResult>> Receive(HttpRequest request, OsirisDbContext db, EventPublisher publisher, TimeProvider time,
        IOptions<ChannelOptions> options, ILoggerFactory loggers, CancellationToken ct)
    {
        var secret = options.Value.WhatsApp.AppSecret;
        if (secret.Length == 0)
        {
            return WebhookBody.NotConfigured("WhatsApp", "whatsapp-app-secret");
        }
        var body = await WebhookBody.ReadAsync(request, MaxBodyBytes, ct);
        if (body is null)
        {
            return WebhookBody.TooLarge(MaxBodyBytes);
        }
        bool signed;
        using (var verify = OsirisTelemetry.Source.StartActivity("osiris.webhook.verify"))
        {
            signed = SignatureMatches(request.Headers["X-Hub-Signature-256"].ToString(), body, secret);
            verify?.SetTag("osiris.webhook.channel", TaskSources.WhatsApp);
            verify?.SetTag("osiris.webhook.signed", signed);
        }
        if (!signed)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Bad signature",
                detail: "X-Hub-Signature-256 must be 'sha256=' + the hex HMAC-SHA256 of the raw body with the app secret.");
        }

        WhatsAppWebhook? payload;
        try
        {
            payload = JsonSerializer.Deserialize<WhatsAppWebhook>(body, WhatsAppJson.Options);
        }
        catch (JsonException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON", detail: ex.Message);
        }
        if (payload?.Entry is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a WhatsApp notification",
                detail: "The body has no 'entry' array.");
        }

        var logger = loggers.CreateLogger("Osiris.Webhooks.WhatsApp");
        int created = 0, joined = 0, duplicates = 0, statuses = 0, held = 0;
        foreach (var value in payload.Entry.SelectMany(e => e.Changes ?? []).Select(c => c.Value).OfType<WhatsAppValue>())
        {
            foreach (var message in value.Messages ?? [])
            {
                if (message.Id is null || message.From is null)
                {
                    logger.LogWarning("Skipped a WhatsApp message without id or sender");
                    continue;
                }
                var name = value.Contacts?.FirstOrDefault(c => c.WaId == message.From)?.Profile?.Name;
                var text = message.Describe();
                using var intake = OsirisTelemetry.Source.StartActivity("osiris.webhook.intake");
                var result = await ChannelIntake.AcceptAsync(db, publisher, time, new InboundMessage(
                    TaskSources.WhatsApp, message.Id, message.From, name,
                    ChannelIntake.TitleFrom(text, $"WhatsApp message from {name ?? message.From}"), text,
                    Authenticated: true /* Meta signed the notification, and WhatsApp verified the number */), ct);
                db.ChangeTracker.Clear();
                intake?.SetTag("osiris.intake.outcome", result.Outcome.ToString());
                intake?.SetTag("osiris.task.id", result.TaskId?.ToString());
                _ = result.Outcome switch
                {
                    IntakeOutcome.NewTask => created++,
                    IntakeOutcome.JoinedTask => joined++,
                    IntakeOutcome.Duplicate => duplicates++,
                    _ => held++,
                };
            }
            foreach (var status in value.Statuses ?? [])
            {
                if (status.Id is not null && await ChannelIntake.RecordAsync(db, time, TaskSources.WhatsApp,
                        $"status:{status.Id}:{status.Status}", ChannelMessageKinds.Status, status.RecipientId, ct))
                {
                    statuses++;
                }
            }
        }
        return TypedResults.Ok(new WhatsAppReceipt(created, joined, duplicates, statuses, held));
    }

    public static bool SignatureMatches(string header, byte[] body, string secret)
    {
        const string prefix = "sha256=";
        if (!header.StartsWith(prefix, StringComparison.Ordinal) || header.Length != prefix.Length + 64)
        {
            return false;
        }
        byte[] presented;
        try
        {
            presented = Convert.FromHexString(header.AsSpan(prefix.Length));
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body);
        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }
}
