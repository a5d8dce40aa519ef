using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Webhooks;

public abstract class EmailWebhookTests<TFixture>(TFixture fixture) where TFixture : BackboneFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewAddress() => $"customer-{Guid.NewGuid():N}@example.org";

    private async Task<List<Guid>> TasksOfAsync(string address)
    {
        await using var db = fixture.CreateDbContext();
        return await db.Tasks.Where(t => t.ReplyAddress == address).OrderBy(t => t.CreatedAt).Select(t => t.Id).ToListAsync(Ct);
    }

    private async Task<HttpResponseMessage> PostAsync(HttpContent content) => await fixture.Api.PostAsync("/webhooks/email", content, Ct);

    [Fact]
    public async Task ASignedMailgunPostCreatesATaskAndAReplyInTheThreadJoinsIt()
    {
        fixture.RequireAvailable();
        var address = NewAddress();
        var firstId = $"{Guid.NewGuid():N}@mail.example.org";
        using var first = await PostAsync(Payloads.Mailgun($"Bob Buyer <{address}>", "Quote for 300 units", "Hello, what is the price?", firstId));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var duplicate = await PostAsync(Payloads.Mailgun($"Bob Buyer <{address}>", "Quote for 300 units", "Hello, what is the price?", firstId));
        Assert.Equal(HttpStatusCode.OK, duplicate.StatusCode);

        using var reply = await PostAsync(Payloads.Mailgun($"Bob Buyer <{address}>", "Re: Quote for 300 units", "Delivery to Berlin please", $"{Guid.NewGuid():N}@mail.example.org", inReplyTo: firstId));
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);

        var task = Assert.Single(await TasksOfAsync(address));
        await using var db = fixture.CreateDbContext();
        var record = await db.Tasks.SingleAsync(t => t.Id == task, Ct);
        Assert.Equal(("email", "Quote for 300 units", "Bob Buyer", firstId), (record.Source, record.Title, record.Sender, record.ReplyThread));
        Assert.Equal("Delivery to Berlin please", (await db.Messages.SingleAsync(m => m.TaskId == task, Ct)).Text);
    }

    [Fact]
    public async Task StaleTimestampsReusedTokensAndBadSignaturesAreRefused()
    {
        fixture.RequireAvailable();
        var address = NewAddress();
        var token = Guid.NewGuid().ToString("N") + "reused-token";

        using var accepted = await PostAsync(Payloads.Mailgun(address, "once", "body", $"{Guid.NewGuid():N}@x", token: token));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        var cases = new (string Name, HttpContent Content, string Detail)[]
        {
            ("reused token", Payloads.Mailgun(address, "again", "body", $"{Guid.NewGuid():N}@x", token: token), "already used"),
            ("stale timestamp", Payloads.Mailgun(address, "old", "body", $"{Guid.NewGuid():N}@x", timestamp: DateTimeOffset.UtcNow.AddMinutes(-6).ToUnixTimeSeconds()), "5 minutes"),
            ("wrong key", Payloads.Mailgun(address, "forged", "body", $"{Guid.NewGuid():N}@x", key: "not-the-key"), "does not match"),
        };
        foreach (var (name, content, detail) in cases)
        {
            using var response = await PostAsync(content);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {response.StatusCode}");
            Assert.Contains(detail, await response.Content.ReadAsStringAsync(Ct));
        }
        Assert.Single(await TasksOfAsync(address));
    }

    [Fact]
    public async Task RawMimeNeedsTheApiKeyAndThenBecomesATask()
    {
        fixture.RequireAvailable();
        var address = NewAddress();
        var mime = $"From: Carol <{address}>\r\nTo: support@osiris.example\r\nSubject: Raw hello\r\nMessage-ID: <{Guid.NewGuid():N}@raw.example>\r\nContent-Type: text/plain\r\n\r\nPlease call me back.\r\n";

        using var anonymous = fixture.Osiris.App.CreateHttpClient("api");
        using var refused = await anonymous.PostAsync("/webhooks/email", Mime(mime), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Empty(await TasksOfAsync(address));

        using var accepted = await fixture.Api.PostAsync("/webhooks/email", Mime(mime), Ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var task = Assert.Single(await TasksOfAsync(address));
        await using var db = fixture.CreateDbContext();
        var record = await db.Tasks.SingleAsync(t => t.Id == task, Ct);
        Assert.Equal(("Raw hello", "Please call me back."), (record.Title, record.Description.Trim()));
    }

    [Fact]
    public async Task ACompletedEmailTaskIsAnsweredOverSmtpAsAThreadedReply()
    {
        fixture.RequireAvailable();
        var address = NewAddress();
        var messageId = $"{Guid.NewGuid():N}@mail.example.org";
        (await PostAsync(Payloads.Mailgun($"Dana <{address}>", "Invoice question", "Where is my invoice?", messageId))).EnsureSuccessStatusCode();
        var task = Assert.Single(await TasksOfAsync(address));

        await using var stream = await SseClient.ConnectAsync(fixture.Api, $"?taskId={task}&types=task_update&lastEventId=0");
        await fixture.CompleteTaskAsync(task, "Your invoice is attached to your account.");

        // An unknown sender's reply waits for review: nothing leaves before a person says send.
        var updates = await stream.ReadUntilAsync(es => es.Any(e => e.Payload.TryGetProperty("reply", out _)), TimeSpan.FromSeconds(10));
        var reply = updates.Last().Payload.GetProperty("reply");
        Assert.Equal(address, reply.GetProperty("to").GetString());
        await Task.Delay(300, Ct);
        Assert.DoesNotContain(fixture.Smtp.Messages, m => m.To.Mailboxes.Any(b => b.Address == address));
        using (var send = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task}/replies/{reply.GetProperty("id").GetString()}", new { action = "send" }, Ct))
        {
            send.EnsureSuccessStatusCode();
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        MimeKit.MimeMessage? sent = null;
        while (sent is null && DateTime.UtcNow < deadline)
        {
            sent = fixture.Smtp.Messages.FirstOrDefault(m => m.To.Mailboxes.Any(b => b.Address == address));
            await Task.Delay(50, Ct);
        }
        Assert.NotNull(sent);
        Assert.Equal("Re: Invoice question", sent.Subject);
        Assert.Equal(messageId, sent.InReplyTo);
        Assert.Contains(messageId, sent.References);
        Assert.Equal(BackboneFixture.SmtpFrom, sent.From.Mailboxes.Single().Address);
        Assert.Equal("Your invoice is attached to your account.", sent.TextBody?.Trim());

        // An answer to our reply threads back onto the task while it is open; this one is completed, so it opens a new task.
        using var answer = await PostAsync(Payloads.Mailgun($"Dana <{address}>", "Re: Invoice question", "Thanks!", $"{Guid.NewGuid():N}@mail.example.org", inReplyTo: sent.MessageId));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(2, (await TasksOfAsync(address)).Count);
    }

    private static ByteArrayContent Mime(string mime)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(mime));
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        return content;
    }
}

[Collection(LocalBackbone.Name)]
public sealed class EmailWebhookOnRedisAndPostgres(LocalBackboneFixture fixture) : EmailWebhookTests<LocalBackboneFixture>(fixture);

[Collection(EmbeddedBackbone.Name)]
public sealed class EmailWebhookOnGarnetAndSqlite(EmbeddedBackboneFixture fixture) : EmailWebhookTests<EmbeddedBackboneFixture>(fixture);
