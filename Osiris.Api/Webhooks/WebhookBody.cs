using Microsoft.AspNetCore.Http.HttpResults;

namespace Osiris.Api.Webhooks;

/// <summary>What a webhook answers once it accepted an e-mail: a new task, a message added to one, or a duplicate.</summary>
public sealed record EmailReceipt(string Outcome, Guid? TaskId);

/// <summary>
/// What the WhatsApp webhook answers: how many of the notification's messages and statuses it took in;
/// <c>held</c>: from blocked senders or over a sender's limit (recorded, not worked on). Always 200: no retry storm.
/// </summary>
public sealed record WhatsAppReceipt(int Created, int Joined, int Duplicates, int Statuses, int Held);

/// <summary>Reads a webhook's raw bytes (signatures are computed over them) with a size cap.</summary>
public static class WebhookBody
{
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    public static ProblemHttpResult TooLarge(int maxBytes) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large",
        detail: $"Webhook bodies are limited to {maxBytes / 1024} KB.");

    public static ProblemHttpResult NotConfigured(string channel, string parameters) => TypedResults.Problem(
        statusCode: StatusCodes.Status503ServiceUnavailable, title: $"{channel} is not configured",
        detail: $"Set the AppHost parameter(s) {parameters} to receive {channel} webhooks.");
}
