using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Security;

[Collection(EmbeddedBackbone.Name)]
public sealed class AuditTrailTests(EmbeddedBackboneFixture fixture)
{
    private async Task<AuditEntryDto> LatestAsync(string action, string? target = null)
    {
        var page = await fixture.Api.GetFromJsonAsync<AuditPage>(
            $"/api/v1/audit?action={action}{(target is null ? "" : $"&target={Uri.EscapeDataString(target)}")}&limit=1", OsirisJson.Options,
            TestContext.Current.CancellationToken);
        return Assert.Single(page!.Items);
    }

    [Fact]
    public async Task EveryAuditedActionNamesThePersonWhoTookIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var ana = await People.CreateAsync(fixture.Api, "ana", Roles.Operator);
        using var operatorClient = People.Client(fixture.Api.BaseAddress!, (await People.SignInAsync(fixture.Api, ana)).Token);
        var ada = await People.CreateAsync(fixture.Api, "ada", Roles.Admin);
        using var adminClient = People.Client(fixture.Api.BaseAddress!, (await People.SignInAsync(fixture.Api, ada)).Token);

        // An approval the agent asked for (staged here: the agent is off in this fixture), approved by Ana.
        var task = await fixture.CreateTaskAsync("Needs a person's yes");
        var approvalId = Guid.NewGuid();
        await using (var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection))
        {
            db.Approvals.Add(new ApprovalRecord
            {
                Id = approvalId, TaskId = task.Id, Tool = "run_command", Arguments = "{\"command\":\"make\"}", Status = ApprovalStatuses.Pending,
                CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.Tasks.Where(t => t.Id == task.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.AwaitingApproval), ct);
            await db.SaveChangesAsync(ct);
        }
        using (var approved = await operatorClient.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/approvals/{approvalId}", new ApprovalDecision(true), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }
        var approval = await LatestAsync(AuditActions.ApprovalApprove, $"task:{task.Id}");
        Assert.Equal(ana, approval.Actor);
        Assert.Contains("run_command", approval.Details);
        await using (var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection))
        {
            Assert.Equal(ana, (await db.Approvals.SingleAsync(a => a.Id == approvalId, ct)).DecidedBy);
            // The task's timeline says who approved, at the note's time.
            Assert.Contains(await db.Messages.Where(m => m.TaskId == task.Id && m.Role == MessageRoles.System).Select(m => m.Text).ToListAsync(ct),
                text => text == $"Approved by {ana}: run_command.");
        }

        // A paused task resumed, a reply in review discarded, a sender marked: all Ana's.
        var replyId = Guid.NewGuid();
        await using (var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection))
        {
            await db.Tasks.Where(t => t.Id == task.Id).ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, TaskStatuses.Paused).SetProperty(t => t.PausedFor, PauseReasons.Budget), ct);
            db.Deliveries.Add(new DeliveryRecord
            {
                Id = replyId, TaskId = task.Id, Channel = TaskSources.WhatsApp, Recipient = "+4915100000000", Status = DeliveryStatuses.Review,
                Text = "Hello", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync(ct);
        }
        using (var resumed = await operatorClient.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/resume", new ResumeRequest(1m), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        }
        Assert.Equal(ana, (await LatestAsync(AuditActions.TaskResume, $"task:{task.Id}")).Actor);
        using (var discarded = await operatorClient.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/replies/{replyId}", new ReplyDecision(ReplyDecision.Discard, null), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, discarded.StatusCode);
        }
        Assert.Equal(ana, (await LatestAsync(AuditActions.ReplyDiscard, $"task:{task.Id}")).Actor);
        var number = "+49151" + Random.Shared.Next(10_000_000, 99_999_999);
        using (var marked = await operatorClient.PutAsJsonAsync($"/api/v1/senders/whatsapp/{Uri.EscapeDataString(number)}", new SenderLevelRequest(SenderLevels.Unknown), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, marked.StatusCode);
        }
        Assert.Equal(ana, (await LatestAsync(AuditActions.TrustSender)).Actor);

        using (var switched = await operatorClient.PutAsJsonAsync($"/api/v1/tasks/{task.Id}/brain", new BrainChoice(BrainNames.Offline, null), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, switched.StatusCode);
        }
        Assert.Equal(ana, (await LatestAsync(AuditActions.TaskBrain, $"task:{task.Id}")).Actor);
        using (var cancelled = await operatorClient.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, ct))
        {
            Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        }
        Assert.Equal(ana, (await LatestAsync(AuditActions.TaskCancel, $"task:{task.Id}")).Actor);

        // Admin actions: the global brain, the trust policy, people and tokens.
        using (var brain = await adminClient.PutAsJsonAsync("/api/v1/settings/brain", new BrainChoice(BrainNames.Offline, null), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, brain.StatusCode);
        }
        Assert.Equal(ada, (await LatestAsync(AuditActions.BrainDefault)).Actor);
        var policy = await adminClient.GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", OsirisJson.Options, ct);
        using (var trust = await adminClient.PutAsJsonAsync("/api/v1/settings/trust", policy, OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, trust.StatusCode);
        }
        Assert.Equal(ada, (await LatestAsync(AuditActions.TrustPolicy)).Actor);

        var bo = await People.CreateAsync(adminClient, "bo", Roles.Viewer);
        var created = await LatestAsync(AuditActions.UserCreate, $"user:{bo}");
        Assert.Equal(ada, created.Actor);
        Assert.NotNull(created.Address);
        var users = await adminClient.GetFromJsonAsync<List<UserDto>>("/api/v1/users", OsirisJson.Options, ct);
        var boId = users!.Single(u => u.UserName == bo).Id;
        using (var promoted = await adminClient.PutAsJsonAsync($"/api/v1/users/{boId}", new UpdateUserRequest(Roles.Operator, null), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        }
        Assert.Equal(ada, (await LatestAsync(AuditActions.UserUpdate, $"user:{bo}")).Actor);
        using (var token = await adminClient.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("ci", Roles.Viewer, 7), OsirisJson.Options, ct))
        {
            var made = (await token.Content.ReadFromJsonAsync<CreatedToken>(OsirisJson.Options, ct))!;
            Assert.Equal(ada, (await LatestAsync(AuditActions.TokenCreate, $"token:{made.Id}")).Actor);
            // A token acts under its owner's name and the token's, never above the role it was given.
            using var ci = People.Client(fixture.Api.BaseAddress!, made.Token);
            var me = await ci.GetFromJsonAsync<MeDto>("/api/v1/me", OsirisJson.Options, ct);
            Assert.Equal(($"{ada} (token ci)", Roles.Viewer), (me!.Name, me.Role));
            using var refused = await ci.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, ct);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var listed = await adminClient.GetFromJsonAsync<List<TokenDto>>("/api/v1/tokens", OsirisJson.Options, ct);
            Assert.NotNull(listed!.Single(t => t.Id == made.Id).LastUsedAt);
        }
        using (var removed = await adminClient.DeleteAsync($"/api/v1/users/{boId}", ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
        Assert.Equal(ada, (await LatestAsync(AuditActions.UserDelete, $"user:{bo}")).Actor);

        // Only admins read the trail.
        using var forbidden = await operatorClient.GetAsync("/api/v1/audit", ct);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

        // The Audit page (the local web signs its user in as the first admin) shows the same entries.
        await using var chromium = await Web.Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(fixture.Osiris.App.GetEndpoint("web", "http"), "/settings/audit");
        await Web.Chromium.WaitLiveAsync(page);
        var approvedRow = page.Locator("[data-testid=audit-entry][data-action='approval.approve']").Filter(new() { HasText = $"task:{task.Id}" });
        await Microsoft.Playwright.Assertions.Expect(approvedRow).ToContainTextAsync(ana);
        await Web.Screenshots.SaveAsync(page, "audit.png", forReadme: true);
    }

    [Fact]
    public async Task TheLastAdminCannotBeRemovedOrDemotedAndANewPasswordEndsSessionsAndTokens()
    {
        var ct = TestContext.Current.CancellationToken;
        var users = await fixture.Api.GetFromJsonAsync<List<UserDto>>("/api/v1/users", OsirisJson.Options, ct);
        var admins = users!.Where(u => u.Role == Roles.Admin).ToList();
        if (admins.Count == 1)
        {
            using var demoted = await fixture.Api.PutAsJsonAsync($"/api/v1/users/{admins[0].Id}", new UpdateUserRequest(Roles.Viewer, null), OsirisJson.Options, ct);
            Assert.Equal(HttpStatusCode.Conflict, demoted.StatusCode);
        }
        var cy = await People.CreateAsync(fixture.Api, "cy", Roles.Admin);
        var session = await People.SignInAsync(fixture.Api, cy);
        using var cySession = People.Client(fixture.Api.BaseAddress!, session.Token);
        using var made = await cySession.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("laptop", Roles.Admin, 30), OsirisJson.Options, ct);
        var token = (await made.Content.ReadFromJsonAsync<CreatedToken>(OsirisJson.Options, ct))!.Token;
        using var tokenClient = People.Client(fixture.Api.BaseAddress!, token);
        // A token cannot make more tokens (what leaks stays what it was).
        using (var copied = await tokenClient.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("copy", Roles.Admin, 30), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.Conflict, copied.StatusCode);
        }
        using var client = People.Client(fixture.Api.BaseAddress!, session.Token);
        using (var ok = await client.GetAsync("/api/v1/me", ct))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        var id = (await fixture.Api.GetFromJsonAsync<List<UserDto>>("/api/v1/users", OsirisJson.Options, ct))!.Single(u => u.UserName == cy).Id;
        using (var reset = await fixture.Api.PutAsJsonAsync($"/api/v1/users/{id}", new UpdateUserRequest(null, "a-brand-new-password"), OsirisJson.Options, ct))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }
        using var ended = await client.GetAsync("/api/v1/me", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);
        using var tokenEnded = await tokenClient.GetAsync("/api/v1/me", ct); // and every token made with the old one
        Assert.Equal(HttpStatusCode.Unauthorized, tokenEnded.StatusCode);
        Assert.Equal(cy, (await People.SignInAsync(fixture.Api, cy, "a-brand-new-password")).UserName);
    }
}
