using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Osiris.Agent.Brains.Gemini;

namespace Osiris.Tests.Agent.Gemini;

[Trait("Category", "Unit")]
public sealed class GeminiChatClientTests : IAsyncLifetime
{
    private const string ApiKey = "AIzaSy-test-key-never-leaks-123";

    // Shaped like real signatures: opaque base64 with '+', '/' and padding, which must come back byte for byte.
    private const string CallSignature = "CiIBVKhc7oNR9Rq+Yk5dCTqOo3yeX3RFkVFc0Z/1ugz7hlbpEmwKYwFUqFzuX0/sKz+q==";
    private const string TextSignature = "Cj4BVKhc7ud+2fK9Y/4nZ1bXh0mQ3Wc8eZ3vG5p+Qx==";

    private FakeGemini _gemini = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGemini.StartAsync();
        _http = new HttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _gemini.DisposeAsync();
    }

    private GeminiChatClient Client(string model = "gemini-2.5-pro") =>
        new(_http, new GeminiChatClientOptions { Endpoint = _gemini.Endpoint, ApiKey = ApiKey, Model = model });

    [Description("Gets the current weather for a city.")]
    private static string GetWeather([Description("City name")] string city, int? days = null) => $"Sunny, 21 C in {city}";

    private static AIFunction Weather => AIFunctionFactory.Create(GetWeather, "get_weather");

    [Fact]
    public async Task RequestBodyCarriesSystemPromptToolsAndOptionsWithModelInPathAndKeyInHeader()
    {
        _gemini.ReplyJson(GeminiReplies.Text("Let me look.", "STOP"));
        var listFiles = AIFunctionFactory.CreateDeclaration("list_files", "Lists files.", JsonDocument.Parse("""
            {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
             "properties":{"path":{"type":"string","description":"Folder"},"depth":{"type":["integer","null"],"minimum":0}},
             "required":["path"],"additionalProperties":false}
            """).RootElement);
        var ping = AIFunctionFactory.Create(() => "pong", "ping", "Answers pong.");

        await Client().GetResponseAsync(
            [new(ChatRole.System, "You are OSIRIS."), new(ChatRole.User, "What is the weather in Paris?")],
            new ChatOptions
            {
                Tools = [Weather, listFiles, ping],
                ToolMode = ChatToolMode.RequireAny,
                Temperature = 0.2f,
                TopP = 0.9f,
                TopK = 40,
                MaxOutputTokens = 256,
                StopSequences = ["END"],
            },
            TestContext.Current.CancellationToken);

        var request = Assert.Single(_gemini.Requests);
        Assert.Equal("/v1beta/models/gemini-2.5-pro:generateContent", request.Path);
        Assert.Equal("", request.Query);
        Assert.Equal(ApiKey, request.ApiKey);
        AssertJson("""
            {
              "contents": [{ "role": "user", "parts": [{ "text": "What is the weather in Paris?" }] }],
              "systemInstruction": { "parts": [{ "text": "You are OSIRIS." }] },
              "tools": [{ "functionDeclarations": [
                { "name": "get_weather", "description": "Gets the current weather for a city.",
                  "parameters": { "type": "object",
                    "properties": { "city": { "description": "City name", "type": "string" }, "days": { "type": "integer", "nullable": true } },
                    "required": ["city"] } },
                { "name": "list_files", "description": "Lists files.",
                  "parameters": { "type": "object",
                    "properties": { "path": { "type": "string", "description": "Folder" }, "depth": { "nullable": true, "type": "integer", "minimum": 0 } },
                    "required": ["path"] } },
                { "name": "ping", "description": "Answers pong." }
              ] }],
              "toolConfig": { "functionCallingConfig": { "mode": "ANY" } },
              "generationConfig": { "temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 256, "stopSequences": ["END"], "thinkingConfig": { "includeThoughts": true } }
            }
            """, request.Body);
    }

    [Fact]
    public async Task StreamedTextChunksAndASignedFunctionCallBecomeTextUpdatesAndAFunctionCall()
    {
        _gemini.ReplyStream(
            GeminiReplies.Chunk("""[{ "text": "Checking " }]"""),
            GeminiReplies.Chunk("""[{ "text": "the weather." }]"""),
            GeminiReplies.Chunk($$"""[{ "functionCall": { "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "{{CallSignature}}" }]""",
                "STOP", usage: """{ "promptTokenCount": 40, "candidatesTokenCount": 12, "totalTokenCount": 52 }"""));

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in Client().GetStreamingResponseAsync([new(ChatRole.User, "Weather in Paris?")], new() { Tools = [Weather] },
            TestContext.Current.CancellationToken))
        {
            updates.Add(update);
        }

        var request = Assert.Single(_gemini.Requests);
        Assert.Equal("/v1beta/models/gemini-2.5-pro:streamGenerateContent", request.Path);
        Assert.Equal("?alt=sse", request.Query);
        Assert.Equal(["Checking ", "the weather.", ""], updates.Select(u => u.Text));
        var call = Assert.Single(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", Assert.IsType<JsonElement>(call.Arguments!["city"]).GetString());
        Assert.False(string.IsNullOrEmpty(call.CallId));
        Assert.Equal(CallSignature, call.AdditionalProperties![GeminiChatClient.ThoughtSignatureKey]);
        Assert.Equal(ChatFinishReason.ToolCalls, updates[^1].FinishReason);
        Assert.All(updates, u => Assert.Equal("resp-1", u.ResponseId));
    }

    [Fact]
    public async Task FunctionInvocationSendsTheSignedCallBackUnchangedWithTheFunctionsResult()
    {
        _gemini.ReplyStream(
            GeminiReplies.Chunk("""[{ "text": "Checking the weather." }]"""),
            GeminiReplies.Chunk($$"""[{ "functionCall": { "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "{{CallSignature}}" }]""", "STOP"));
        _gemini.ReplyStream(GeminiReplies.Chunk("""[{ "text": "It is sunny in Paris." }]""", "STOP"));
        using var agent = new ChatClientBuilder(Client()).UseFunctionInvocation().Build();

        var response = await agent.GetStreamingResponseAsync([new(ChatRole.User, "Weather in Paris?")], new() { Tools = [Weather] },
            TestContext.Current.CancellationToken).ToChatResponseAsync(TestContext.Current.CancellationToken);

        Assert.Equal("It is sunny in Paris.", response.Messages[^1].Text);
        Assert.Equal(2, _gemini.Requests.Count);
        AssertJson($$"""
            [
              { "role": "user", "parts": [{ "text": "Weather in Paris?" }] },
              { "role": "model", "parts": [
                { "text": "Checking the weather." },
                { "functionCall": { "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "{{CallSignature}}" } ] },
              { "role": "user", "parts": [
                { "functionResponse": { "name": "get_weather", "response": { "result": "Sunny, 21 C in Paris" } } } ] }
            ]
            """, _gemini.Requests.ElementAt(1).Body.GetProperty("contents"));
    }

    [Fact]
    public async Task ParallelCallsWithIdsAreAnsweredByIdAndNameAndOnlyTheFirstKeepsItsSignature()
    {
        _gemini.ReplyJson(GeminiReplies.Chunk($$"""
            [{ "functionCall": { "id": "fc-1", "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "{{CallSignature}}" },
             { "functionCall": { "id": "fc-2", "name": "get_weather", "args": { "city": "Rome" } } }]
            """, "STOP"));
        _gemini.ReplyJson(GeminiReplies.Text("Sunny in both.", "STOP"));
        using var agent = new ChatClientBuilder(Client()).UseFunctionInvocation().Build();

        var response = await agent.GetResponseAsync([new(ChatRole.User, "Paris and Rome?")], new() { Tools = [Weather] },
            TestContext.Current.CancellationToken);

        Assert.Equal("Sunny in both.", response.Text);
        AssertJson($$"""
            [
              { "role": "user", "parts": [{ "text": "Paris and Rome?" }] },
              { "role": "model", "parts": [
                { "functionCall": { "id": "fc-1", "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "{{CallSignature}}" },
                { "functionCall": { "id": "fc-2", "name": "get_weather", "args": { "city": "Rome" } } } ] },
              { "role": "user", "parts": [
                { "functionResponse": { "id": "fc-1", "name": "get_weather", "response": { "result": "Sunny, 21 C in Paris" } } },
                { "functionResponse": { "id": "fc-2", "name": "get_weather", "response": { "result": "Sunny, 21 C in Rome" } } } ] }
            ]
            """, _gemini.Requests.ElementAt(1).Body.GetProperty("contents"));
    }

    [Fact]
    public async Task CallsWrittenByAnotherBrainGetGooglesSkipValidatorSignature()
    {
        _gemini.ReplyJson(GeminiReplies.Text("Done.", "STOP"));
        List<ChatMessage> history =
        [
            new(ChatRole.User, "Weather in Paris?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_openai_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_openai_1", "Sunny")]),
        ];

        await Client().GetResponseAsync(history, cancellationToken: TestContext.Current.CancellationToken);

        AssertJson("""
            [
              { "role": "user", "parts": [{ "text": "Weather in Paris?" }] },
              { "role": "model", "parts": [{ "functionCall": { "id": "call_openai_1", "name": "get_weather", "args": { "city": "Paris" } },
                                              "thoughtSignature": "skip_thought_signature_validator" }] },
              { "role": "user", "parts": [{ "functionResponse": { "id": "call_openai_1", "name": "get_weather", "response": { "result": "Sunny" } } }] }
            ]
            """, Assert.Single(_gemini.Requests).Body.GetProperty("contents"));
    }

    [Fact]
    public async Task ASignatureOnTheLastStreamedTextChunkGoesBackOnTheMergedTextPart()
    {
        _gemini.ReplyStream(
            GeminiReplies.Chunk("""[{ "text": "Hel" }]"""),
            GeminiReplies.Chunk("""[{ "text": "lo." }]"""),
            GeminiReplies.Chunk($$"""[{ "text": "", "thoughtSignature": "{{TextSignature}}" }]""", "STOP"));
        _gemini.ReplyJson(GeminiReplies.Text("Bye.", "STOP"));
        var client = Client();
        List<ChatMessage> history = [new(ChatRole.User, "Hi")];

        var first = await client.GetStreamingResponseAsync(history, cancellationToken: TestContext.Current.CancellationToken)
            .ToChatResponseAsync(TestContext.Current.CancellationToken);
        history.AddMessages(first);
        history.Add(new(ChatRole.User, "Thanks"));
        await client.GetResponseAsync(history, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("Hello.", first.Text);
        AssertJson($$"""{ "role": "model", "parts": [{ "text": "Hello.", "thoughtSignature": "{{TextSignature}}" }] }""",
            _gemini.Requests.ElementAt(1).Body.GetProperty("contents")[1]);
    }

    [Fact]
    public async Task UsageFinishReasonModelVersionAndResponseIdAreMapped()
    {
        _gemini.ReplyJson(GeminiReplies.Text("Truncated answ", "MAX_TOKENS",
            usage: """{ "promptTokenCount": 100, "candidatesTokenCount": 20, "thoughtsTokenCount": 30, "totalTokenCount": 150 }"""));

        var response = await Client().GetResponseAsync("Explain everything.", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal("gemini-2.5-pro-001", response.ModelId);
        Assert.Equal("resp-1", response.ResponseId);
        Assert.Equal(100, response.Usage!.InputTokenCount);
        Assert.Equal(50, response.Usage.OutputTokenCount);
        Assert.Equal(30, response.Usage.ReasoningTokenCount);
        Assert.Equal(150, response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task StreamedUsageIsCountedOnceAlthoughEveryChunkRepeatsIt()
    {
        _gemini.ReplyStream(
            GeminiReplies.Chunk("""[{ "text": "One" }]""", usage: """{ "promptTokenCount": 10, "totalTokenCount": 10 }"""),
            GeminiReplies.Chunk("""[{ "text": " two" }]""", usage: """{ "promptTokenCount": 10, "candidatesTokenCount": 1, "totalTokenCount": 11 }"""),
            GeminiReplies.Chunk("""[{ "text": "." }]""", "STOP", usage: """{ "promptTokenCount": 10, "candidatesTokenCount": 3, "totalTokenCount": 13 }"""));

        var response = await Client().GetStreamingResponseAsync("Count.", cancellationToken: TestContext.Current.CancellationToken)
            .ToChatResponseAsync(TestContext.Current.CancellationToken);

        Assert.Equal("One two.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal((10L, 3L, 13L), (response.Usage!.InputTokenCount, response.Usage.OutputTokenCount, response.Usage.TotalTokenCount));
    }

    [Theory]
    [InlineData(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", false)]
    [InlineData(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", true)]
    [InlineData(500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", false)]
    [InlineData(500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", true)]
    public async Task AnErrorReplySurfacesItsStatusAndGooglesMessageWithoutTheApiKey(int status, string googleStatus, string message, bool streaming)
    {
        _gemini.ReplyJson($$"""{ "error": { "code": {{status}}, "message": "{{message}}", "status": "{{googleStatus}}" } }""", status);
        var client = Client();

        var error = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            if (streaming)
            {
                await foreach (var _ in client.GetStreamingResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken))
                {
                }
            }
            else
            {
                await client.GetResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken);
            }
        });

        Assert.Equal((HttpStatusCode)status, error.StatusCode);
        Assert.Contains(message, error.Message);
        Assert.Contains(googleStatus, error.Message);
        Assert.DoesNotContain(ApiKey, error.ToString());
        Assert.DoesNotContain("key=", error.ToString());
    }

    [Fact]
    public void MetadataNamesGeminiTheEndpointAndTheModel()
    {
        var metadata = Client("gemini-2.5-flash").GetService<ChatClientMetadata>();

        Assert.Equal("gemini", metadata!.ProviderName);
        Assert.Equal(_gemini.Endpoint, metadata.ProviderUri);
        Assert.Equal("gemini-2.5-flash", metadata.DefaultModelId);
    }

    [Fact]
    public async Task OpenTelemetryReportsGeminiAsTheProviderAndTheRequestedModel()
    {
        _gemini.ReplyJson(GeminiReplies.Text("ok", "STOP"));
        var sourceName = "osiris-gemini-test-" + Guid.NewGuid().ToString("N");
        var activities = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == sourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var traced = new ChatClientBuilder(Client()).UseOpenTelemetry(sourceName: sourceName).Build();

        await traced.GetResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken);

        var activity = Assert.Single(activities);
        Assert.Equal("gemini", activity.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("gemini-2.5-pro", activity.GetTagItem("gen_ai.request.model"));
        Assert.Equal("gemini-2.5-pro-001", activity.GetTagItem("gen_ai.response.model"));
    }

    [Fact]
    public async Task TheModelOfTheCallOverridesTheDefaultInThePath()
    {
        _gemini.ReplyJson(GeminiReplies.Text("ok", "STOP"));

        await Client().GetResponseAsync("Hi", new ChatOptions { ModelId = "gemini-2.5-flash" }, TestContext.Current.CancellationToken);

        Assert.Equal("/v1beta/models/gemini-2.5-flash:generateContent", Assert.Single(_gemini.Requests).Path);
    }

    private static void AssertJson(string expected, JsonElement actual)
    {
        using var expectedDocument = JsonDocument.Parse(expected);
        Assert.True(JsonElement.DeepEquals(expectedDocument.RootElement, actual),
            $"Expected:\n{JsonSerializer.Serialize(expectedDocument.RootElement)}\nActual:\n{JsonSerializer.Serialize(actual)}");
    }

    [Fact]
    public async Task RefsAreInlinedAndNumberEnumsMovedToTheDescriptionSoGeminiAcceptsTheSchema()
    {
        var tool = AIFunctionFactory.CreateDeclaration("plan_trip", "Plans a trip.", JsonDocument.Parse("""
            {"type":"object","$defs":{"place":{"type":"object","properties":{"city":{"type":"string"},"kind":{"const":"city"}}}},
             "properties":{"from":{"$ref":"#/$defs/place"},"to":{"$ref":"#/$defs/place","description":"Where to."},
                           "stars":{"type":"integer","enum":[1,2,3]},"mode":{"enum":["train","bus"]}},"required":["from"]}
            """).RootElement);
        _gemini.ReplyJson(GeminiReplies.Text("ok", "STOP"));

        await Client().GetResponseAsync("Plan it.", new ChatOptions { Tools = [tool] }, TestContext.Current.CancellationToken);

        Assert.Empty(_gemini.Refused);
        var parameters = _gemini.Requests.Single().Body.GetProperty("tools")[0].GetProperty("functionDeclarations")[0].GetProperty("parameters");
        Assert.Equal("string", parameters.GetProperty("properties").GetProperty("from").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        Assert.Equal("Where to.", parameters.GetProperty("properties").GetProperty("to").GetProperty("description").GetString());
        Assert.False(parameters.GetProperty("properties").GetProperty("stars").TryGetProperty("enum", out _));
        Assert.Contains("One of: 1, 2, 3", parameters.GetProperty("properties").GetProperty("stars").GetProperty("description").GetString());
        Assert.Equal("string", parameters.GetProperty("properties").GetProperty("mode").GetProperty("type").GetString());
    }

    [Fact]
    public async Task ATextTurnFollowedByACallTurnIsSentAsOneModelTurnAndGeminiMintedIdsFitOpenAI()
    {
        _gemini.ReplyJson(GeminiReplies.Chunk("""[{ "functionCall": { "name": "get_weather", "args": { "city": "Oslo" } } }]""", "STOP"));
        var first = await Client().GetResponseAsync([new(ChatRole.User, "Weather?"), new(ChatRole.Assistant, "Plan: ask the tool."), new(ChatRole.User, "Go on.")],
            new ChatOptions { Tools = [Weather] }, TestContext.Current.CancellationToken);
        var call = first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
        Assert.True(call.CallId.Length <= 40, $"{call.CallId} is {call.CallId.Length} characters");

        _gemini.ReplyJson(GeminiReplies.Text("Sunny.", "STOP"));
        await Client().GetResponseAsync(
            [new(ChatRole.User, "Weather?"), new(ChatRole.Assistant, "Plan: ask the tool."), new(ChatRole.User, "Go on."), new(ChatRole.Assistant, "Asking."), .. first.Messages,
             new(ChatRole.Tool, [new FunctionResultContent(call.CallId, "Sunny")]), new(ChatRole.User, "Thanks, and tomorrow?")],
            new ChatOptions { Tools = [Weather] }, TestContext.Current.CancellationToken);

        Assert.Empty(_gemini.Refused);
        var contents = _gemini.Requests.Last().Body.GetProperty("contents").EnumerateArray().ToList();
        Assert.Equal(["user", "model", "user", "model", "user"], contents.Select(c => c.GetProperty("role").GetString()));
        Assert.Equal(2, contents[3].GetProperty("parts").GetArrayLength()); // "Asking." and the call, one turn
        Assert.Equal(2, contents[4].GetProperty("parts").GetArrayLength()); // the function response and the person's words
    }

    [Fact]
    public async Task A429sRetryInfoBecomesTheRetryDelay()
    {
        _gemini.ReplyRateLimited(7.5);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => Client().GetResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken));

        Assert.True(Osiris.Agent.Brains.ModelErrors.IsTransient(error));
        Assert.Equal(TimeSpan.FromSeconds(7.5), Osiris.Agent.Brains.ModelErrors.RetryAfter(error));
    }
}
