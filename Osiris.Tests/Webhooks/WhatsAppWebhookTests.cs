using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Webhooks;

public abstract class WhatsAppWebhookTests<TFixture>(TFixture fixture) where TFixture : BackboneFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewWaId() => "49" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999);

    private async Task<List<Guid>> TasksOfAsync(string waId)
    {
        await using var db = fixture.CreateDbContext();
        return await db.Tasks.Where(t => t.ReplyAddress == waId).OrderBy(t => t.CreatedAt).Select(t => t.Id).ToListAsync(Ct);
    }

    [Fact]
    public async Task TheSubscriptionHandshakeEchoesTheChallengeOnlyForTheRightToken()
    {
        fixture.RequireAvailable();
        using var ok = await fixture.Api.GetAsync($"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={BackboneFixture.WhatsAppVerifyToken}&hub.challenge=1158201444", Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("text/plain", ok.Content.Headers.ContentType?.MediaType);
        Assert.Equal("1158201444", await ok.Content.ReadAsStringAsync(Ct));

        foreach (var query in new[]
        {
            "hub.mode=subscribe&hub.verify_token=short&hub.challenge=1",
            $"hub.mode=subscribe&hub.verify_token={BackboneFixture.WhatsAppVerifyToken}x&hub.challenge=1",
            $"hub.mode=unsubscribe&hub.verify_token={BackboneFixture.WhatsAppVerifyToken}&hub.challenge=1",
            $"hub.mode=subscribe&hub.challenge=1",
        })
        {
            using var refused = await fixture.Api.GetAsync("/webhooks/whatsapp?" + query, Ct);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
    }

    [Fact]
    public async Task ASignedTextMessageCreatesOneTaskWithTaskCreatedAndANotification()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        await using var stream = await SseClient.ConnectAsync(fixture.Api, "?types=task_created,system_notification");

        var stopwatch = Stopwatch.StartNew();
        using var response = await fixture.Api.SendAsync(Payloads.WhatsAppPost(
            Payloads.WhatsAppText("wamid." + Guid.NewGuid().ToString("N"), waId, "Kerry Fisher", "Can you quote 300 units?")), Ct);
        var ack = stopwatch.Elapsed.TotalMilliseconds;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        TestContext.Current.TestOutputHelper?.WriteLine($"[{fixture.Mode}] WhatsApp webhook acknowledged in {ack:F1} ms");

        var events = await stream.ReadUntilAsync(es =>
            es.Any(e => e.Type == "task_created" && e.Payload.GetProperty("source").GetString() == "whatsapp" && e.Payload.GetProperty("description").GetString() == "Can you quote 300 units?")
            && es.Any(e => e.Type == "system_notification" && e.Payload.GetProperty("text").GetString() == "New lead from WhatsApp: Kerry Fisher (unknown sender)"));
        var created = events.Single(e => e.Type == "task_created" && e.Payload.GetProperty("description").GetString() == "Can you quote 300 units?");
        Assert.Equal("Can you quote 300 units?", created.Payload.GetProperty("title").GetString());
        Assert.Equal([created.TaskId!.Value], await TasksOfAsync(waId));
    }

    [Fact]
    public async Task ASecondMessageJoinsTheOpenTaskAndAfterCompletionANewMessageOpensANewTask()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppText("wamid.a" + Guid.NewGuid().ToString("N"), waId, "Ana", "First question")), Ct)).EnsureSuccessStatusCode();
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppText("wamid.b" + Guid.NewGuid().ToString("N"), waId, "Ana", "One more detail")), Ct)).EnsureSuccessStatusCode();

        var tasks = await TasksOfAsync(waId);
        var first = Assert.Single(tasks);
        var history = (await fixture.Api.GetFromJsonAsync<List<OsirisEvent>>($"/api/v1/tasks/{first}/events", OsirisJson.Options, Ct))!;
        var joined = Assert.Single(history, e => e.Type == "new_message");
        Assert.Equal(("user", "One more detail"), (joined.Payload.GetProperty("role").GetString(), joined.Payload.GetProperty("text").GetString()));

        await fixture.CompleteTaskAsync(first, "Here is your answer.");
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppText("wamid.c" + Guid.NewGuid().ToString("N"), waId, "Ana", "A new request")), Ct)).EnsureSuccessStatusCode();

        tasks = await TasksOfAsync(waId);
        Assert.Equal(2, tasks.Count);
        Assert.Equal(first, tasks[0]);
    }

    [Fact]
    public async Task TheSameMessagePostedTwentyTimesInParallelCountsOnce()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        var json = Payloads.WhatsAppText("wamid.dup" + Guid.NewGuid().ToString("N"), waId, "Retry Meta", "Duplicate me");
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => fixture.Api.SendAsync(Payloads.WhatsAppPost(json), Ct)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(await TasksOfAsync(waId));
        var created = 0;
        foreach (var response in responses)
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            created += body.RootElement.GetProperty("created").GetInt32();
            response.Dispose();
        }
        Assert.Equal(1, created);
    }

    [Fact]
    public async Task HostileRequestsGetClearErrorsAndCreateNothing()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        var json = Payloads.WhatsAppText("wamid.h" + Guid.NewGuid().ToString("N"), waId, "Mallory", "attack");
        var reencoded = JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement, new JsonSerializerOptions { WriteIndented = true });
        var bigBody = Payloads.WhatsAppText("wamid.big" + Guid.NewGuid().ToString("N"), waId, "Mallory", new string('a', 1024 * 1024));

        var cases = new (string Name, HttpRequestMessage Request, HttpStatusCode Expected)[]
        {
            ("missing signature", Payloads.WhatsAppPost(json, signature: null), HttpStatusCode.Unauthorized),
            ("wrong signature", Payloads.WhatsAppPost(json, Payloads.Sign(Encoding.UTF8.GetBytes(json), "another-secret")), HttpStatusCode.Unauthorized),
            ("signature of other bytes", Payloads.WhatsAppPost(json, "sha256=" + new string('0', 64)), HttpStatusCode.Unauthorized),
            ("re-encoded JSON", ReEncoded(json, reencoded), HttpStatusCode.Unauthorized),
            ("1 MB message", Payloads.WhatsAppPost(bigBody), HttpStatusCode.RequestEntityTooLarge),
            ("malformed JSON", Payloads.WhatsAppPost("{\"entry\": [", "auto"), HttpStatusCode.BadRequest),
        };
        foreach (var (name, request, expected) in cases)
        {
            using var response = await fixture.Api.SendAsync(request, Ct);
            Assert.True(expected == response.StatusCode, $"{name}: expected {expected}, got {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            request.Dispose();
        }
        Assert.Empty(await TasksOfAsync(waId));
    }

    [Fact]
    public async Task AStatusOnlyPayloadIsAcknowledgedAndRecordedButCreatesNothing()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        var statusId = "wamid.st" + Guid.NewGuid().ToString("N");
        using var response = await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppStatus(statusId, waId)), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await TasksOfAsync(waId));
        await using var db = fixture.CreateDbContext();
        Assert.True(await db.ChannelMessages.AnyAsync(m => m.ExternalId == $"status:{statusId}:delivered" && m.Kind == "status", Ct));
    }

    [Fact]
    public async Task ANonTextMessageBecomesATaskWithANoteOfWhatArrived()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppImage("wamid.img" + Guid.NewGuid().ToString("N"), waId, "Pic Sender", "my broken part")), Ct)).EnsureSuccessStatusCode();
        var task = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{Assert.Single(await TasksOfAsync(waId))}", OsirisJson.Options, Ct);
        Assert.Equal("[image message received] my broken part", task!.Description);
    }

    [Fact]
    public async Task ACompletedWhatsAppTaskIsAnsweredThroughTheGraphApiWithRetries()
    {
        fixture.RequireAvailable();
        var waId = NewWaId();
        await fixture.TrustSenderAsync("whatsapp", waId); // a trusted sender's answer goes out by itself
        (await fixture.Api.SendAsync(Payloads.WhatsAppPost(Payloads.WhatsAppText("wamid.r" + Guid.NewGuid().ToString("N"), waId, "Reply Me", "Need an answer")), Ct)).EnsureSuccessStatusCode();
        var taskId = Assert.Single(await TasksOfAsync(waId));
        await using var stream = await SseClient.ConnectAsync(fixture.Api, $"?taskId={taskId}&types=system_notification");

        fixture.Graph.Failures[waId] = 2;
        await fixture.CompleteTaskAsync(taskId, "The answer is 42.");

        var notes = await stream.ReadUntilAsync(es => es.Any(e => e.Payload.GetProperty("text").GetString()!.Contains("delivered")), TimeSpan.FromSeconds(10));
        Assert.Equal(["warning", "warning", "info"], notes.Select(e => e.Payload.GetProperty("level").GetString()));
        var sent = fixture.Graph.Requests.Where(r => r.Body.GetProperty("to").GetString() == waId).ToList();
        Assert.Equal(3, sent.Count);
        Assert.All(sent, r =>
        {
            Assert.Equal(BackboneFixture.WhatsAppPhoneNumberId, r.PhoneNumberId);
            Assert.Equal($"Bearer {BackboneFixture.WhatsAppAccessToken}", r.Authorization);
            Assert.Equal("The answer is 42.", r.Body.GetProperty("text").GetProperty("body").GetString());
            Assert.Equal("whatsapp", r.Body.GetProperty("messaging_product").GetString());
        });
        await using var db = fixture.CreateDbContext();
        var delivery = await db.Deliveries.SingleAsync(d => d.TaskId == taskId, Ct);
        Assert.Equal(("sent", 3), (delivery.Status, delivery.Attempts));
        Assert.DoesNotContain(BackboneFixture.WhatsAppAccessToken, string.Join(' ', notes.Select(n => n.Payload.ToString())));
    }

    private static HttpRequestMessage ReEncoded(string original, string reencoded)
    {
        var request = Payloads.WhatsAppPost(reencoded, Payloads.Sign(Encoding.UTF8.GetBytes(original)));
        return request;
    }
}

[Collection(LocalBackbone.Name)]
public sealed class WhatsAppWebhookOnRedisAndPostgres(LocalBackboneFixture fixture) : WhatsAppWebhookTests<LocalBackboneFixture>(fixture);

[Collection(EmbeddedBackbone.Name)]
public sealed class WhatsAppWebhookOnGarnetAndSqlite(EmbeddedBackboneFixture fixture) : WhatsAppWebhookTests<EmbeddedBackboneFixture>(fixture);
