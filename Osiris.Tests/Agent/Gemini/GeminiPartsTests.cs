using System.Text.Json;
using Microsoft.Extensions.AI;
using Osiris.Agent.Brains.Gemini;

namespace Osiris.Tests.Agent.Gemini;

/// <summary>Gemini <c>parts[]</c> to Microsoft.Extensions.AI contents and back, with thought signatures where Gemini wants them.</summary>
[Trait("Category", "Unit")]
public sealed class GeminiPartsTests
{
    private static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    [Fact]
    public void ACallKeepsItsSignatureAndGoesBackOnTheSamePart()
    {
        var part = new GeminiPart(FunctionCall: new GeminiFunctionCall("read_file", Json(new { path = "a.txt" }), "call-1"), ThoughtSignature: "sig-A");
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(GeminiParts.ToContents(part)));
        Assert.Equal(("call-1", "read_file"), (call.CallId, call.Name));
        Assert.Equal("a.txt", ((JsonElement)call.Arguments!["path"]!).GetString());
        Assert.Equal("sig-A", call.AdditionalProperties![GeminiChatClient.ThoughtSignatureKey]);

        var names = new Dictionary<string, string>();
        var back = Assert.Single(GeminiParts.From([call], names));
        Assert.Equal("sig-A", back.ThoughtSignature);
        Assert.Equal(("read_file", "call-1"), (back.FunctionCall!.Name, back.FunctionCall.Id));
        Assert.Equal("read_file", names["call-1"]);
    }

    [Fact]
    public void ACallWithoutAnIdGetsAShortMadeUpOneThatNeverGoesBackOnTheWire()
    {
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(GeminiParts.ToContents(new GeminiPart(FunctionCall: new GeminiFunctionCall("list_dir")))));
        Assert.StartsWith(GeminiParts.GeneratedCallIdPrefix, call.CallId);
        Assert.True(call.CallId.Length <= 40, "OpenAI accepts call ids of at most 40 characters");
        var back = Assert.Single(GeminiParts.From([call], []));
        Assert.Null(back.FunctionCall!.Id);
    }

    [Fact]
    public void AThoughtBecomesReasoningAndATextSignatureFoldsBackOntoItsText()
    {
        var thought = Assert.IsType<TextReasoningContent>(Assert.Single(GeminiParts.ToContents(new GeminiPart("Check the folder first.", Thought: true))));
        Assert.Equal("Check the folder first.", thought.Text);

        var contents = GeminiParts.ToContents(new GeminiPart("Done.", ThoughtSignature: "sig-T"));
        Assert.Equal("Done.", Assert.IsType<TextContent>(contents[0]).Text);
        Assert.Equal("sig-T", Assert.IsType<TextReasoningContent>(contents[1]).ProtectedData);

        var back = Assert.Single(GeminiParts.From(contents, []));
        Assert.Equal(("Done.", "sig-T"), (back.Text, back.ThoughtSignature));
    }

    [Fact]
    public void AResultNeedsItsCallsNameAndCarriesTheCallsWireId()
    {
        var names = new Dictionary<string, string> { ["call-9"] = "run_command" };
        var part = Assert.Single(GeminiParts.From([new FunctionResultContent("call-9", "exit 0")], names));
        Assert.Equal(("run_command", "call-9"), (part.FunctionResponse!.Name, part.FunctionResponse.Id));

        var orphan = Assert.Throws<InvalidOperationException>(() => GeminiParts.From([new FunctionResultContent("nobody", "x")], []));
        Assert.Contains("no function call before it", orphan.Message);
    }

    [Fact]
    public void CallsAnotherBrainWroteGetTheSkipSignatureOnlyOnTheFirstAndGeminisOwnStayUntouched()
    {
        var foreign = GeminiParts.WithForeignCallsMarked(
        [
            new GeminiPart(FunctionCall: new GeminiFunctionCall("read_file", Id: "c1")),
            new GeminiPart(FunctionCall: new GeminiFunctionCall("list_dir", Id: "c2")),
        ]);
        Assert.Equal(["skip_thought_signature_validator", null], foreign.Select(p => p.ThoughtSignature));

        var own = GeminiParts.WithForeignCallsMarked([new GeminiPart(FunctionCall: new GeminiFunctionCall("read_file", Id: "c1"), ThoughtSignature: "sig")]);
        Assert.Equal("sig", Assert.Single(own).ThoughtSignature);
    }
}
