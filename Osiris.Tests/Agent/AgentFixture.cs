using Osiris.Tests.Agent.Gemini;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Agent;

/// <summary>
/// The whole app with the agent worker on, real PostgreSQL and Redis where installed (else Garnet and SQLite),
/// and OpenAI and Gemini played by local servers that speak their wire formats.
/// </summary>
public sealed class AgentFixture() : BackboneFixture(OptionalSoftware.HasRedisAndPostgres ? "local" : "embedded")
{
    public FakeOpenAI OpenAI { get; private set; } = null!;
    public FakeGemini Gemini { get; private set; } = null!;

    protected override bool AgentEnabled => true;

    protected override async Task<IEnumerable<string>> ExtraArgumentsAsync()
    {
        OpenAI = await FakeOpenAI.StartAsync();
        Gemini = await FakeGemini.StartAsync();
        return
        [
            "--Parameters:openai-api-key=test-openai-key",
            $"--Parameters:openai-endpoint={OpenAI.BaseUrl}",
            "--Parameters:gemini-api-key=test-gemini-key",
            $"--Parameters:gemini-endpoint={Gemini.Endpoint}",
        ];
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (OpenAI is not null)
        {
            await OpenAI.DisposeAsync();
            await Gemini.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AgentCollection : ICollectionFixture<AgentFixture>
{
    public const string Name = "Agent with fake providers";
}
