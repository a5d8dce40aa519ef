using Osiris.Api.Spend;
using Osiris.Api.Streaming;
using Osiris.Api.Tasks;
using Osiris.Shared.Contracts;

namespace Osiris.Tests.Tasks;

/// <summary>The shape rules every route group checks before its handlers run, field by field as the wire names them.</summary>
[Trait("Category", "Unit")]
public sealed class RequestValidationTests
{
    [Fact]
    public void ATaskNeedsATitleOfAtMost200CharactersADescriptionAndKnownNames()
    {
        Assert.Empty(new CreateTaskRequest("Fix the build", "", null, null, null, null).Validate());
        Assert.Empty(new CreateTaskRequest("Fix", "x", BrainNames.Gemini, "gemini-2.5-flash", true, TaskSources.Ui).Validate());

        var errors = new CreateTaskRequest(" ", null, "claude", new string('m', 101), null, TaskSources.WhatsApp).Validate();
        Assert.Equal(["brain", "description", "model", "source", "title"], errors.Keys.Order());
        Assert.Contains("200", new CreateTaskRequest(new string('t', 201), "", null, null, null, null).Validate()["title"][0]);
        Assert.Contains("Allowed: openai, gemini, openai-compatible, offline", errors["brain"][0]);
    }

    [Fact]
    public void AMessageHasTextOfAtMost20000Characters()
    {
        Assert.Empty(new PostMessageRequest("Please also add tests.").Validate());
        Assert.Contains("required", new PostMessageRequest("  ").Validate()["text"][0]);
        Assert.Contains("20000", new PostMessageRequest(new string('x', 20_001)).Validate()["text"][0]);
    }

    [Fact]
    public void TheTaskListAcceptsKnownStatusesAndBoundedPages()
    {
        var query = new TaskListQuery("running, paused", 2, 200);
        Assert.Empty(query.Validate());
        Assert.Equal([TaskStatuses.Running, TaskStatuses.Paused], query.Statuses);
        Assert.Contains("done", new TaskListQuery("running,done", null, null).Validate()["status"][0]);
        Assert.True(new TaskListQuery(null, 0, null).Validate().ContainsKey("page"));
        Assert.True(new TaskListQuery(null, null, 201).Validate().ContainsKey("page"));
    }

    [Fact]
    public void TheStreamTakesANonNegativeResumePointFromHeaderOrQueryAndKnownTypes()
    {
        var fromHeader = new StreamApi.StreamQuery(null, "task_update,new_message", "5", "42");
        Assert.Empty(fromHeader.Validate());
        Assert.Equal(42, fromHeader.ResumeAfter); // the header wins over the query
        Assert.Equal(["new_message", "task_update"], fromHeader.Filter.Types!.Order());
        Assert.Null(fromHeader.Filter.TaskIds);

        Assert.Null(new StreamApi.StreamQuery(null, null, null, null).ResumeAfter); // live only
        Assert.True(new StreamApi.StreamQuery(null, null, "-1", null).Validate().ContainsKey("Last-Event-ID"));
        Assert.True(new StreamApi.StreamQuery(null, null, "abc", null).Validate().ContainsKey("Last-Event-ID"));
        Assert.Contains("task_deleted", new StreamApi.StreamQuery(null, "task_deleted", null, null).Validate()["types"][0]);
    }

    [Fact]
    public void BrainChoicesResumesAndSpendWindowsHaveTheirBounds()
    {
        Assert.Empty(new BrainChoice(BrainNames.OpenAI, null).Validate());
        Assert.True(new BrainChoice("gpt", null).Validate().ContainsKey("brain"));
        Assert.True(new BrainChoice(BrainNames.OpenAI, new string('m', 101)).Validate().ContainsKey("model"));

        Assert.Empty(new ResumeRequest(5m).Validate());
        Assert.True(new ResumeRequest(-1m).Validate().ContainsKey("raiseBudgetUsd"));
        Assert.True(new ResumeRequest(null, 200_000_000).Validate().ContainsKey("raiseBudgetUsd"));

        Assert.Empty(new SpendApi.SpendQuery(null).Validate());
        Assert.True(new SpendApi.SpendQuery(91).Validate().ContainsKey("days"));
    }
}
