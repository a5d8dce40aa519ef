using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Aspire.Hosting.ApplicationModel;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Agent;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Faults;

/// <summary>
/// Pieces of a running cluster die or go away while clients stream, webhooks arrive and agents work; each test counts
/// what it checked. They run one after another on one cluster; each leaves it whole again.
/// </summary>
[Collection(FaultCluster.Name)]
public sealed class FaultTests(FaultFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<long> LogEndAsync()
    {
        await using var db = fixture.CreateDbContext();
        return await db.Events.MaxAsync(e => (long?)e.Id, Ct) ?? 0;
    }

    private async Task<List<long>> LogIdsAsync(long after)
    {
        await using var db = fixture.CreateDbContext();
        return await db.Events.Where(e => e.Id > after).OrderBy(e => e.Id).Select(e => e.Id).ToListAsync(Ct);
    }

    /// <summary>Every client ends with exactly the log's events after <paramref name="from"/>: all of them, in order, once.</summary>
    private async Task<int> AssertEveryClientHasTheLogAsync(IReadOnlyList<ReconnectingClient> clients, long from)
    {
        var log = await LogIdsAsync(from);
        Assert.NotEmpty(log);
        foreach (var client in clients)
        {
            await client.WaitForAsync(log[^1], TimeSpan.FromSeconds(30));
        }
        // Events the agents published after the snapshot may follow; up to the snapshot's end, each client has the log.
        foreach (var client in clients)
        {
            Assert.Equal(log, client.Events.Select(e => e.Id).Where(id => id <= log[^1]));
        }
        return log.Count;
    }

    private async Task<HttpResponseMessage> SendWhatsAppAsync(HttpClient http, string messageId, string from, string text)
    {
        using var request = Payloads.WhatsAppPost(Payloads.WhatsAppText(messageId, from, "Fault Tester", text));
        return await http.SendAsync(request, Ct);
    }

    [Fact]
    public async Task AnApiReplicaKilledWhileClientsStreamAndWebhooksArriveLosesNoEventAndNoAcceptedWebhook()
    {
        fixture.RequireAvailable();
        var apis = fixture.Processes("api");
        Assert.Equal(2, apis.Count);
        var from = await LogEndAsync();
        // Through the AppHost's endpoint, which spreads connections over both replicas.
        var clients = Enumerable.Range(0, 6).Select(_ => new ReconnectingClient(fixture.CreateApiClient(fixture.Osiris.App.CreateHttpClient("api")), from)).ToList();
        using var webhooks = fixture.Osiris.App.CreateHttpClient("api");
        var accepted = new List<string>();
        var attempts = 0;
        var failures = 0;
        try
        {
            await Task.Delay(1000, Ct); // the clients are connected
            var sending = Task.Run(async () =>
            {
                for (var i = 0; i < 60; i++)
                {
                    var id = $"wamid.fault-{Guid.NewGuid():N}";
                    // As Meta does: a webhook not answered 200 is delivered again, until it is.
                    while (true)
                    {
                        attempts++;
                        try
                        {
                            using var response = await SendWhatsAppAsync(webhooks, id, $"4915{i % 20:D8}", $"fault run message {i}");
                            if (response.StatusCode == HttpStatusCode.OK)
                            {
                                accepted.Add(id);
                                break;
                            }
                        }
                        catch (HttpRequestException)
                        {
                        }
                        failures++;
                        await Task.Delay(200, Ct);
                    }
                    await Task.Delay(50, Ct);
                }
            }, Ct);
            await Task.Delay(1000, Ct);
            FaultFixture.Kill(apis[0].Pid);
            await sending;

            Assert.Equal(60, accepted.Count);
            await using (var db = fixture.CreateDbContext())
            {
                var stored = await db.ChannelMessages.Where(m => accepted.Contains(m.ExternalId)).Select(m => m.ExternalId).ToListAsync(Ct);
                Assert.Equal(accepted.Order(), stored.Order());
            }
            var checkedEvents = await AssertEveryClientHasTheLogAsync(clients, from);
            Assert.True(clients.Sum(c => c.Connections) > clients.Count, "no client had to reconnect: the kill did not hit a stream");
            Report($"{accepted.Count} webhooks accepted after {attempts} attempts ({failures} refused or cut); " +
                   $"{clients.Count} clients reconnected {clients.Sum(c => c.Connections) - clients.Count} times and each got {checkedEvents} events exactly once, in order");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
            await fixture.StartAgainAsync(apis[0].Name);
            await fixture.WaitForAllAsync("api");
        }
    }

    [Fact]
    public async Task RedisAwayForTenSecondsDelaysEventsButLosesNone()
    {
        fixture.RequireAvailable();
        var from = await LogEndAsync();
        var clients = Enumerable.Range(0, 4).Select(_ => new ReconnectingClient(fixture.CreateApiClient(fixture.Osiris.App.CreateHttpClient("api")), from)).ToList();
        try
        {
            await Task.Delay(1000, Ct);
            await fixture.CommandAsync("redis", KnownResourceCommands.StopCommand);
            var created = 0;
            try
            {
                var outage = Stopwatch.StartNew();
                while (outage.Elapsed < TimeSpan.FromSeconds(10))
                {
                    // Publishing goes on: the log is the truth, Redis only the fast path.
                    using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title = $"written while Redis is away {created}", description = "from the fault suite" }, Ct);
                    Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
                    created++;
                    await Task.Delay(250, Ct);
                }
            }
            finally
            {
                Assert.Empty(fixture.Processes("redis")); // stopped on purpose: not restarted by the AppHost
                await fixture.CommandAsync("redis", KnownResourceCommands.StartCommand);
            }
            await fixture.Osiris.App.ResourceNotifications.WaitForResourceHealthyAsync("redis", Ct);

            var checkedEvents = await AssertEveryClientHasTheLogAsync(clients, from);
            Report($"{created} tasks created while Redis was away; {clients.Count} clients each got {checkedEvents} events exactly once, in order");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("postgres")]
    public async Task ACrashedServerIsStartedAgainByTheAppHostAndEventsFlowAgain(string server)
    {
        fixture.RequireAvailable();
        var (_, pid) = Assert.Single(fixture.Processes(server));
        var clock = Stopwatch.StartNew();
        FaultFixture.Kill(pid);
        while (fixture.Processes(server) is not [var (_, again)] || again == pid)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{server} was not started again within 30 s");
            await Task.Delay(100, Ct);
        }
        await fixture.Osiris.App.ResourceNotifications.WaitForResourceHealthyAsync(server, Ct);
        var back = clock.Elapsed;

        // The API works on it again: a new task's event reaches a stream (the first request may meet a broken pooled connection).
        var from = await WhenTheDatabaseAnswersAsync(LogEndAsync);
        await using var client = new ReconnectingClient(fixture.CreateApiClient(fixture.Osiris.App.CreateHttpClient("api")), from);
        TaskDto? task = null;
        while (task is null)
        {
            using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title = $"after {server} came back", description = "from the fault suite" }, Ct);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                task = await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct);
            }
            else
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Ct)}");
                await Task.Delay(250, Ct);
            }
        }
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!client.Events.Any(e => e.Type == "task_created" && e.TaskId == task!.Id))
        {
            await Task.Delay(50, wait.Token);
        }
        Report($"{server} killed -9: running again after {back.TotalSeconds:F1} s, and a new task's event reached a stream");
    }

    /// <summary>
    /// Reads, trying again while the database does not answer: after a restart, this test's own pooled connections are
    /// broken once.
    /// </summary>
    private async Task<T> WhenTheDatabaseAnswersAsync<T>(Func<Task<T>> read)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await read();
            }
            catch (Exception e) when (DbErrors.IsUnavailable(e) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(250, Ct);
            }
        }
    }

    [Fact]
    public async Task PostgresAwayForTenSecondsAnswersWebhooksWith503AndARunningTaskGoesOn()
    {
        var (_, task) = await StartUntilTheCommandRunsAsync("pgfault", results => results switch
        {
            0 => new Turn(null, [("run_command", new { command = "echo started; sleep 14; echo finished" })]),
            _ => new Turn("Done after the outage."),
        });

        await fixture.CommandAsync("postgres", KnownResourceCommands.StopCommand);
        using var webhooks = fixture.Osiris.App.CreateHttpClient("api");
        var refused = new List<HttpResponseMessage>();
        try
        {
            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(10))
            {
                var response = await SendWhatsAppAsync(webhooks, $"wamid.pg-{Guid.NewGuid():N}", "491500000077", "written while the database is away");
                refused.Add(response);
                await Task.Delay(500, Ct);
            }
        }
        finally
        {
            // Stopped on purpose, it stayed stopped: the AppHost restarts only servers that crash.
            Assert.Empty(fixture.Processes("postgres"));
            await fixture.CommandAsync("postgres", KnownResourceCommands.StartCommand);
        }
        await fixture.Osiris.App.ResourceNotifications.WaitForResourceHealthyAsync("postgres", Ct);

        // Never 200 for something not stored: 503 with Retry-After, as long as the database was away.
        var during = refused.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        Assert.NotEmpty(during);
        Assert.All(during, r =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.NotNull(r.Headers.RetryAfter);
        });

        // The API recovers by itself: the same kind of webhook is taken again.
        var after = $"wamid.pg-after-{Guid.NewGuid():N}";
        var recovered = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var response = await SendWhatsAppAsync(webhooks, after, "491500000077", "written after the database returned");
            status = response.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(500, Ct);
            }
        }
        while (status != HttpStatusCode.OK && recovered.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, status);

        // The task that was running goes on and completes.
        var done = await WaitForEndAsync(task.Id, TimeSpan.FromSeconds(60));
        Assert.Equal(TaskStatuses.Completed, done.Status);
        Report($"{during.Count} webhooks answered 503 during the outage; recovered in {recovered.Elapsed.TotalSeconds:F1} s");
        foreach (var r in refused)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task AnAgentKilledDuringACommandIsTakenOverWithinTheLeaseAndNoDoneToolCallRunsTwice()
    {
        var (marker, task) = await StartUntilTheCommandRunsAsync("agentkill", results => results switch
        {
            0 => new Turn("Writing the counter.", [("write_file", new { path = "count.sh", content = "echo counted-by-the-first-agent >> runs.txt\n" })]),
            1 => new Turn(null, [("run_command", new { command = "sh count.sh; echo started; sleep 8; echo slept" })]),
            // On the agent that took over (and whichever MCP server takes the call): the files are as they were.
            2 => new Turn("Checking the workspace.", [("read_file", new { path = "runs.txt" })]),
            _ => new Turn("Done."),
        });

        string owner;
        await using (var db = fixture.CreateDbContext())
        {
            owner = (await db.Tasks.SingleAsync(t => t.Id == task.Id, Ct)).LeaseOwner!;
        }
        var pid = int.Parse(owner.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture);
        var agents = fixture.Processes("agent");
        Assert.True(agents.Any(a => a.Pid == pid), $"lease owner {owner}; agents {string.Join(", ", agents)}");
        var killed = agents.Single(a => a.Pid == pid);
        var clock = Stopwatch.StartNew();
        FaultFixture.Kill(pid);

        try
        {
            // The other agent takes the task over once the lease (4 s) runs out.
            string? newOwner = null;
            while (clock.Elapsed < TimeSpan.FromSeconds(4 + 5 + 5))
            {
                await using var db = fixture.CreateDbContext();
                newOwner = await db.Tasks.Where(t => t.Id == task.Id).Select(t => t.LeaseOwner).SingleAsync(Ct);
                if (newOwner is not null && newOwner != owner)
                {
                    break;
                }
                await Task.Delay(100, Ct);
            }
            var takeover = clock.Elapsed;
            Assert.NotNull(newOwner);
            Assert.NotEqual(owner, newOwner);
            Assert.True(takeover < TimeSpan.FromSeconds(4 + 5), $"taken over after {takeover.TotalSeconds:F1} s");

            var done = await WaitForEndAsync(task.Id, TimeSpan.FromSeconds(60));
            Assert.Equal(TaskStatuses.Completed, done.Status);
            await using (var db = fixture.CreateDbContext())
            {
                var calls = await db.Messages.Where(m => m.TaskId == task.Id && m.Kind == MessageKinds.ToolCall).Select(m => m.Text).ToListAsync(Ct);
                // The write was recorded done before the kill: it ran once. The interrupted command is not repeated
                // blindly either: the model hears that its effect is unknown, and decides.
                Assert.Single(calls, c => c.StartsWith("write_file", StringComparison.Ordinal));
                Assert.Single(calls, c => c.StartsWith("run_command", StringComparison.Ordinal));
            }
            var resumed = fixture.OpenAI.RequestsFor(marker)[^1].GetProperty("messages").EnumerateArray()
                .Where(m => m.GetProperty("role").GetString() == "tool").Select(m => m.GetProperty("content").ToString()).ToList();
            Assert.Contains("The worker stopped before this call finished", resumed[^2]);
            Assert.Contains("counted-by-the-first-agent", resumed[^1]); // runs.txt, written by the command before the kill
            Report($"taken over after {takeover.TotalSeconds:F1} s (lease 4 s); the write ran once, the cut command was not repeated, the workspace was intact");
        }
        finally
        {
            await fixture.StartAgainAsync(killed.Name);
            await fixture.WaitForAllAsync("agent");
        }
    }

    [Fact]
    public async Task AStreamTicketIssuedByOneApiReplicaIsRedeemedOnceOnTheOther()
    {
        fixture.RequireAvailable();
        // Tickets are asked for with the API key and redeemed by clients that carry no credential but the ticket.
        var replicas = await fixture.ReplicaClientsAsync("api");
        var issuers = fixture.ReplicaClients("api").Select(fixture.CreateApiClient).ToList();
        Assert.Equal(2, replicas.Count);
        try
        {
            var (a, b) = (issuers[0], issuers[1]);
            var tickets = 0;
            for (var i = 0; i < 10; i++)
            {
                using var issued = await (i % 2 == 0 ? a : b).PostAsync("/api/v1/stream/tickets", null, Ct);
                issued.EnsureSuccessStatusCode();
                var ticket = (await issued.Content.ReadFromJsonAsync<StreamTicket>(OsirisJson.Options, Ct))!.Ticket;
                var (redeem, again) = i % 2 == 0 ? (replicas[1], replicas[0]) : (replicas[0], replicas[1]);
                // The other replica honours it; then neither does: a ticket is good once, cluster-wide.
                using (var first = await redeem.GetAsync($"/api/v1/stream?ticket={ticket}", HttpCompletionOption.ResponseHeadersRead, Ct))
                {
                    Assert.Equal(HttpStatusCode.OK, first.StatusCode);
                }
                using (var second = await again.GetAsync($"/api/v1/stream?ticket={ticket}", HttpCompletionOption.ResponseHeadersRead, Ct))
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
                }
                tickets++;
            }
            Report($"{tickets} tickets issued on one replica, redeemed on the other, refused when used again");
        }
        finally
        {
            foreach (var client in replicas.Concat(issuers))
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task AStrangersMessageLimitHoldsAcrossApiReplicas()
    {
        fixture.RequireAvailable();
        var replicas = await fixture.ReplicaClientsAsync("api");
        Assert.Equal(2, replicas.Count);
        var original = (await fixture.Api.GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", OsirisJson.Options, Ct))!;
        var limited = original with { Levels = original.Levels with { Unknown = original.Levels.Unknown with { MessagesPerMinute = 3 } } };
        using (var set = await fixture.Api.PutAsJsonAsync("/api/v1/settings/trust", limited, OsirisJson.Options, Ct))
        {
            set.EnsureSuccessStatusCode();
        }
        var sender = $"4917{Random.Shared.Next(10_000_000, 99_999_999)}";
        try
        {
            // 12 messages at once, half to each replica: each replica counts what the database holds, under the log's lock.
            var ids = Enumerable.Range(0, 12).Select(i => $"wamid.limit-{Guid.NewGuid():N}").ToList();
            var answers = await Task.WhenAll(ids.Select((id, i) => SendWhatsAppAsync(replicas[i % 2], id, sender, $"stranger's message {i}")));
            Assert.All(answers, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            await using var db = fixture.CreateDbContext();
            var kinds = await db.ChannelMessages.Where(m => ids.Contains(m.ExternalId)).Select(m => m.Kind).ToListAsync(Ct);
            Assert.Equal(12, kinds.Count);
            Assert.Equal(3, kinds.Count(k => k == ChannelMessageKinds.Message));
            Assert.Equal(9, kinds.Count(k => k == ChannelMessageKinds.OverLimit));
            Report("12 messages from one stranger at once over two replicas with a limit of 3 a minute: 3 taken, 9 held back");
        }
        finally
        {
            using var reset = await fixture.Api.PutAsJsonAsync("/api/v1/settings/trust", original, OsirisJson.Options, Ct);
            reset.EnsureSuccessStatusCode();
            foreach (var replica in replicas)
            {
                replica.Dispose();
            }
        }
    }

    [Fact]
    public async Task AnIndexerKilledInTheMiddleOfADocumentLeavesItToTheOtherMcpServer()
    {
        fixture.RequireAvailable();
        using var created = await fixture.Api.PostAsJsonAsync("/api/v1/knowledge/collections",
            new CreateCollectionRequest($"faults-{Guid.NewGuid():N}"[..20], "fault suite"), OsirisJson.Options, Ct);
        created.EnsureSuccessStatusCode();
        var collection = (await created.Content.ReadFromJsonAsync<KnowledgeCollectionDto>(OsirisJson.Options, Ct))!;
        // Large enough that indexing it takes a while: thousands of sections, each a passage.
        var text = new StringBuilder();
        for (var i = 0; i < 6000; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"## Section {i}\n\nThe cassowary number {i} keeps the ledger of order {i * 7} in warehouse {i % 13}. ")
                .Append(string.Join(' ', Enumerable.Repeat($"word{i % 97}", 120))).Append("\n\n");
        }
        var killed = new List<(string Name, int Pid)>();
        KnowledgeDocumentRecord? document = null;
        try
        {
            using var form = new MultipartFormDataContent();
            var part = new ByteArrayContent(Encoding.UTF8.GetBytes(text.ToString()));
            part.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/markdown");
            form.Add(part, "file", "ledger.md");
            using (var uploaded = await fixture.Api.PostAsync($"/api/v1/knowledge/collections/{collection.Id}/documents", form, Ct))
            {
                uploaded.EnsureSuccessStatusCode();
            }
            // The moment an indexer claims it, that MCP server dies.
            var clock = Stopwatch.StartNew();
            string? claimer = null;
            while (claimer is null && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await using var db = fixture.CreateDbContext();
                var state = await db.KnowledgeDocuments.AsNoTracking().Where(d => d.CollectionId == collection.Id).Select(d => new { d.Status, d.ClaimedBy }).SingleAsync(Ct);
                Assert.Equal(DocumentStatuses.Indexing, state.Status); // not finished before the kill
                claimer = state.ClaimedBy;
            }
            Assert.NotNull(claimer);
            var pid = int.Parse(claimer.Split(':')[^1], CultureInfo.InvariantCulture);
            killed.Add(fixture.Processes("mcpserver").Single(p => p.Pid == pid));
            FaultFixture.Kill(pid);
            var kill = clock.Elapsed;

            // The other server takes it over when the claim (4 s) runs out, and indexes it whole, once.
            while (clock.Elapsed < kill + TimeSpan.FromSeconds(60))
            {
                await using var db = fixture.CreateDbContext();
                document = await db.KnowledgeDocuments.AsNoTracking().SingleAsync(d => d.CollectionId == collection.Id, Ct);
                if (document.Status != DocumentStatuses.Indexing)
                {
                    break;
                }
                await Task.Delay(200, Ct);
            }
            Assert.Equal(DocumentStatuses.Ready, document!.Status);
            await using (var db = fixture.CreateDbContext())
            {
                var ordinals = await db.KnowledgeChunks.Where(c => c.DocumentId == document.Id).Select(c => c.Ordinal).ToListAsync(Ct);
                Assert.Equal(document.Chunks, ordinals.Count);
                Assert.Equal(ordinals.Count, ordinals.Distinct().Count());
                Assert.True(ordinals.Count >= 1000, $"{ordinals.Count} passages");
            }
            Report($"a {text.Length / 1024 / 1024.0:F1} MB document: its indexer killed after the claim; indexed by the other MCP server " +
                   $"{(clock.Elapsed - kill).TotalSeconds:F1} s later, {document.Chunks} passages, each once");
        }
        finally
        {
            foreach (var (name, _) in killed)
            {
                await fixture.StartAgainAsync(name);
            }
            await fixture.WaitForAllAsync("mcpserver");
        }
    }

    [Fact]
    public async Task TwoAgentsRacingOverAHundredQueuedTasksRunEachExactlyOnce()
    {
        fixture.RequireAvailable();
        var run = Guid.NewGuid().ToString("N")[..8];
        var markers = Enumerable.Range(0, 100).Select(i => $"race-{run}-{i:D3}").ToList();
        foreach (var marker in markers)
        {
            fixture.OpenAI.Script(marker, _ => new Turn($"Finished {marker}."));
        }
        var ids = new List<Guid>();
        foreach (var marker in markers)
        {
            ids.Add((await CreateOnOpenAIAsync($"{marker} task")).Id);
        }

        var clock = Stopwatch.StartNew();
        List<TaskRecord> tasks;
        do
        {
            await Task.Delay(500, Ct);
            await using var db = fixture.CreateDbContext();
            tasks = await db.Tasks.AsNoTracking().Where(t => ids.Contains(t.Id)).ToListAsync(Ct);
        }
        while (tasks.Any(t => TaskStatuses.IsOpen(t.Status)) && clock.Elapsed < TimeSpan.FromSeconds(120));

        Assert.All(tasks, t => Assert.Equal(TaskStatuses.Completed, t.Status));
        await using (var db = fixture.CreateDbContext())
        {
            // One final answer per task, and each conversation sent to the model once: plan, then the answer.
            var answers = await db.Messages.Where(m => ids.Contains(m.TaskId) && m.Role == MessageRoles.Assistant && m.Text.StartsWith("Finished race-"))
                .GroupBy(m => m.TaskId).Select(g => g.Count()).ToListAsync(Ct);
            Assert.Equal(100, answers.Count);
            Assert.All(answers, n => Assert.Equal(1, n));
        }
        foreach (var marker in markers)
        {
            Assert.Single(fixture.OpenAI.RequestsFor(marker), r => r.TryGetProperty("tools", out _));
        }
        Report($"100 tasks run once each in {clock.Elapsed.TotalSeconds:F1} s by two agents");
    }

    [Fact]
    public async Task McpServersKilledAndStartedDuringACommandGiveTheModelAClearErrorAndTheTaskEnds()
    {
        var (_, task) = await StartUntilTheCommandRunsAsync("mcpfault", results => results switch
        {
            0 => new Turn(null, [("run_command", new { command = "echo started; sleep 10; echo slept" })]),
            _ => new Turn("The tool server went away; reporting instead of repeating."),
        });

        // Every MCP server dies at once (kill -9, so no graceful drain lets the command finish), then they start again.
        var clock = Stopwatch.StartNew();
        var servers = fixture.Processes("mcpserver");
        foreach (var (_, pid) in servers)
        {
            FaultFixture.Kill(pid);
        }
        foreach (var (name, _) in servers)
        {
            await fixture.StartAgainAsync(name);
        }
        var done = await WaitForEndAsync(task.Id, TimeSpan.FromSeconds(60));
        Assert.Equal(TaskStatuses.Completed, done.Status);
        await using (var db = fixture.CreateDbContext())
        {
            var result = await db.Messages.Where(m => m.TaskId == task.Id && m.Kind == MessageKinds.ToolResult).Select(m => m.Text).SingleAsync(Ct);
            Assert.Contains("The connection to the tool server broke while run_command ran", result);
        }
        await fixture.WaitForAllAsync("mcpserver");
        Report($"the task ended {clock.Elapsed.TotalSeconds:F1} s after the restart");
    }

    /// <summary>What a fault test checked, for the test output and, when <c>OSIRIS_FAULT_REPORT</c> names a file, for a report.</summary>
    private static void Report(string line)
    {
        var text = $"{TestContext.Current.TestMethod?.MethodName}: {line}";
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        if (Environment.GetEnvironmentVariable("OSIRIS_FAULT_REPORT") is { Length: > 0 } file)
        {
            File.AppendAllLines(file, [text]);
        }
    }

    /// <summary>
    /// Scripts a task on the fake OpenAI (its marker: <paramref name="prefix"/> and a fresh id), creates it, and returns
    /// once its command has printed "started" (it is running then). Commands need the sandbox: bubblewrap.
    /// </summary>
    private async Task<(string Marker, TaskDto Task)> StartUntilTheCommandRunsAsync(string prefix, Func<int, Turn> script)
    {
        fixture.RequireAvailable();
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap"), "bubblewrap", "apt-get install -y bubblewrap");
        var marker = $"{prefix}-{Guid.NewGuid():N}";
        fixture.OpenAI.Script(marker, script);
        var task = await CreateOnOpenAIAsync($"{marker} task");
        await using var stream = await SseClient.ConnectAsync(fixture.Api, $"?taskId={task.Id}&lastEventId=0");
        await stream.ReadTaskAsync(e => e.Type == "terminal_log" && e.Payload.GetProperty("text").GetString()!.Contains("started"));
        return (marker, task);
    }

    private async Task<TaskDto> CreateOnOpenAIAsync(string title)
    {
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title, description = "from the fault suite", brain = "openai" }, Ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
    }

    private async Task<TaskRecord> WaitForEndAsync(Guid taskId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var task = await WhenTheDatabaseAnswersAsync(async () =>
            {
                await using var db = fixture.CreateDbContext();
                return await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == taskId, Ct);
            });
            if (!TaskStatuses.IsOpen(task.Status) || clock.Elapsed > timeout)
            {
                return task;
            }
            await Task.Delay(250, Ct);
        }
    }
}
