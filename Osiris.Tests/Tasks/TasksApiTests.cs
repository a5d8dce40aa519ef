using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Tasks;

public abstract class TasksApiTests<TFixture>(TFixture fixture) where TFixture : BackboneFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreatingATaskReturns201WithLocationAndTheQueuedTask()
    {
        fixture.RequireAvailable();
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks",
            new { title = "Write a haiku", description = "about events", brain = "offline", requireApproval = true }, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var task = (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        Assert.Equal($"/api/v1/tasks/{task.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal(("Write a haiku", "about events", "api", "queued", "offline", true),
            (task.Title, task.Description, task.Source, task.Status, task.Brain, task.RequireApproval));

        var fetched = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{task.Id}", OsirisJson.Options, Ct);
        Assert.Equal(task, fetched);
    }

    [Fact]
    public async Task ListingTasksFiltersByStatusAndCarriesTheNewestEventId()
    {
        fixture.RequireAvailable();
        var kept = await fixture.CreateTaskAsync("list: stays queued");
        var cancelled = await fixture.CreateTaskAsync("list: cancelled");
        (await fixture.Api.PostAsync($"/api/v1/tasks/{cancelled.Id}/cancel", null, Ct)).EnsureSuccessStatusCode();

        using var response = await fixture.Api.GetAsync("/api/v1/tasks?status=cancelled&pageSize=200", Ct);
        response.EnsureSuccessStatusCode();
        var page = (await response.Content.ReadFromJsonAsync<TaskPage>(OsirisJson.Options, Ct))!;
        Assert.Contains(page.Items, t => t.Id == cancelled.Id);
        Assert.DoesNotContain(page.Items, t => t.Id == kept.Id);
        Assert.All(page.Items, t => Assert.Equal("cancelled", t.Status));

        var lastEventId = long.Parse(response.Headers.GetValues("X-Last-Event-Id").Single());
        var history = await fixture.Api.GetFromJsonAsync<List<OsirisEvent>>($"/api/v1/tasks/{cancelled.Id}/events", OsirisJson.Options, Ct);
        Assert.True(lastEventId >= history!.Max(e => e.Id), "the header names an id at least as new as every event already visible");
    }

    [Fact]
    public async Task APersonsMessageAndACancelBecomeEventsInTheTaskHistory()
    {
        fixture.RequireAvailable();
        var task = await fixture.CreateTaskAsync("history");

        using var message = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/messages", new { text = "Please hurry" }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, message.StatusCode);
        using var cancel = await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        using var cancelAgain = await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, cancelAgain.StatusCode);

        var history = (await fixture.Api.GetFromJsonAsync<List<OsirisEvent>>($"/api/v1/tasks/{task.Id}/events", OsirisJson.Options, Ct))!;
        Assert.Equal(["task_created", "new_message", "task_update", "new_message"], history.Select(e => e.Type));
        Assert.Equal("Please hurry", history[1].Payload.GetProperty("text").GetString());
        Assert.Equal("user", history[1].Payload.GetProperty("role").GetString());
        Assert.Equal("cancelled", history[2].Payload.GetProperty("status").GetString());
        Assert.Equal(("system", "Cancelled by api-key."), (history[3].Payload.GetProperty("role").GetString(), history[3].Payload.GetProperty("text").GetString()));
        Assert.True(history[0].Id < history[1].Id && history[1].Id < history[2].Id && history[2].Id < history[3].Id);
    }

    [Fact]
    public async Task UnknownTasksAnswer404ProblemDetails()
    {
        fixture.RequireAvailable();
        using var response = await fixture.Api.GetAsync($"/api/v1/tasks/{Guid.NewGuid()}", Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("""{"description":"no title"}""")]
    [InlineData("""{"title":"","description":"empty title"}""")]
    [InlineData("""{"title":"unknown brain","description":"x","brain":"skynet"}""")]
    [InlineData("""{"title":"bad source","description":"x","source":"whatsapp"}""")]
    [InlineData("""{"title":12,"description":"wrong type"}""")]
    public async Task MalformedBodiesGet400ProblemDetailsAndStoreNothing(string body)
    {
        fixture.RequireAvailable();
        var before = await CountTasksAsync();

        using var response = await fixture.Api.PostAsync("/api/v1/tasks", new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(before, await CountTasksAsync());
    }

    [Fact]
    public async Task ATitleLongerThan200CharactersIsRefusedWithItsLength()
    {
        fixture.RequireAvailable();
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title = new string('x', 201), description = "" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("201 characters", await response.Content.ReadAsStringAsync(Ct));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key-wrong-key")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task AMissingOrWrongApiKeyGets401AndNothingElse(string? authorization)
    {
        fixture.RequireAvailable();
        await fixture.CreateTaskAsync("secret task title");
        using var anonymous = fixture.Osiris.App.CreateHttpClient("api");
        if (authorization is not null)
        {
            anonymous.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var path in new[] { "/api/v1/tasks", "/api/v1/stream?lastEventId=0", $"/api/v1/tasks/{Guid.NewGuid()}/events" })
        {
            using var response = await anonymous.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.DoesNotContain("secret task title", body);
            Assert.DoesNotContain(fixture.ApiKey, body);
        }
        using var create = await anonymous.PostAsJsonAsync("/api/v1/tasks", new { title = "sneaky", description = "" }, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheTasksApi()
    {
        fixture.RequireAvailable();
        var document = await fixture.Api.GetStringAsync("/openapi/v1.json", Ct);
        Assert.Contains("\"/api/v1/tasks\"", document);
        Assert.Contains("\"/api/v1/stream\"", document);
    }

    private async Task<int> CountTasksAsync() =>
        (await fixture.Api.GetFromJsonAsync<TaskPage>("/api/v1/tasks?pageSize=1", OsirisJson.Options, Ct))!.Total;
}

[Collection(LocalBackbone.Name)]
public sealed class TasksApiOnRedisAndPostgres(LocalBackboneFixture fixture) : TasksApiTests<LocalBackboneFixture>(fixture);

[Collection(EmbeddedBackbone.Name)]
public sealed class TasksApiOnGarnetAndSqlite(EmbeddedBackboneFixture fixture) : TasksApiTests<EmbeddedBackboneFixture>(fixture);
