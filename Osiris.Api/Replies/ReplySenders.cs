using System.Net.Http.Json;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;
using Osiris.Api.Channels;
using Osiris.Shared.Storage;

namespace Osiris.Api.Replies;

/// <summary>A channel could not take the reply; <see cref="Permanent"/> failures are not retried.</summary>
public sealed class DeliveryException(string message, bool permanent = false) : Exception(message)
{
    public bool Permanent { get; } = permanent;
}

/// <summary>Sends a text message through the WhatsApp Cloud API (Graph <c>/{phone-number-id}/messages</c>).</summary>
public sealed class WhatsAppSender(HttpClient http, IOptions<ChannelOptions> options)
{
    public const string HttpClientName = "whatsapp-graph";

    public async Task<string?> SendAsync(TaskRecord task, string text, CancellationToken ct)
    {
        var whatsapp = options.Value.WhatsApp;
        if (!whatsapp.CanSend)
        {
            throw new DeliveryException("WhatsApp is not configured: set whatsapp-access-token and whatsapp-phone-number-id.", permanent: true);
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{whatsapp.GraphUrl.TrimEnd('/')}/{whatsapp.PhoneNumberId}/messages")
        {
            Content = JsonContent.Create(new
            {
                messaging_product = "whatsapp",
                recipient_type = "individual",
                to = task.ReplyAddress,
                type = "text",
                text = new { preview_url = false, body = text.Length <= 4096 ? text : text[..4093] + "..." },
            }),
        };
        request.Headers.Authorization = new("Bearer", whatsapp.AccessToken);
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            var permanent = (int)response.StatusCode is >= 400 and < 500 and not 429;
            throw new DeliveryException($"WhatsApp answered {(int)response.StatusCode}: {Truncate(body)}", permanent);
        }
        using var json = JsonDocument.Parse(body);
        return json.RootElement.TryGetProperty("messages", out var messages) && messages.GetArrayLength() > 0
            ? messages[0].GetProperty("id").GetString()
            : null;
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300];
}

/// <summary>Sends the reply over SMTP with MailKit, threaded onto the sender's message.</summary>
public sealed class EmailSender(IOptions<ChannelOptions> options)
{
    public async Task<string> SendAsync(TaskRecord task, string text, CancellationToken ct)
    {
        var smtp = options.Value.Smtp;
        if (!smtp.CanSend)
        {
            throw new DeliveryException("E-mail replies are not configured: set smtp-host and smtp-from.", permanent: true);
        }
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.From));
        message.To.Add(MailboxAddress.Parse(task.ReplyAddress!));
        var subject = task.ReplySubject ?? task.Title;
        message.Subject = subject.StartsWith("Re:", StringComparison.OrdinalIgnoreCase) ? subject : "Re: " + subject;
        if (task.ReplyThread is { Length: > 0 } thread)
        {
            message.InReplyTo = thread;
            message.References.Add(thread);
        }
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId();
        message.Body = new TextPart("plain") { Text = text };

        using var client = new SmtpClient();
        try
        {
            await client.ConnectAsync(smtp.Host, smtp.Port, SecureSocketOptions.Auto, ct);
            if (smtp.Username.Length > 0)
            {
                await client.AuthenticateAsync(smtp.Username, smtp.Password, ct);
            }
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(quit: true, ct);
        }
        catch (Exception ex) when (ex is SmtpCommandException or SmtpProtocolException or System.Net.Sockets.SocketException or IOException or AuthenticationException)
        {
            var permanent = ex is SmtpCommandException { StatusCode: >= (SmtpStatusCode)500 } or AuthenticationException;
            throw new DeliveryException($"SMTP {smtp.Host}:{smtp.Port} refused the reply: {ex.Message}", permanent);
        }
        return message.MessageId;
    }
}
