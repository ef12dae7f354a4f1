using Parley.Inference.Gguf;
using Parley.Inference.Templates;

namespace Parley.Inference.Tests;

/// <summary>The Jinja engine's semantics one by one, beyond what the real templates happen to exercise.</summary>
public class JinjaTests
{
    private static string Render(string template, Dictionary<string, object?>? vars = null) =>
        ChatTemplate.Parse(template).Render(vars ?? [], new DateTime(2026, 1, 15, 9, 30, 0));

    [Theory]
    [InlineData("{% if true %}\n  x\n{% endif %}\n", "  x\n")] // trim_blocks and lstrip_blocks
    [InlineData("a  {%- if true -%}  b  {%- endif %}", "ab")]
    [InlineData("  {%+ if true %}x{% endif %}", "  x")]
    [InlineData("{# note #}\nx", "x")]
    [InlineData("{{ 'a' ~ 1 ~ none }}", "a1None")]
    [InlineData("{{ 7 // 2 }} {{ 7 / 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ -7 // 2 }}", "3 3.5 1 1024 -4")]
    [InlineData("{{ [1, 2, 3][::-1] }} {{ 'hello'[1:3] }} {{ [1,2,3][-1] }}", "[3, 2, 1] el 3")]
    [InlineData("{% for x in [1,2,3] if x != 2 %}{{ loop.index }}{{ x }}{{ ',' if not loop.last }}{% endfor %}", "11,23")]
    [InlineData("{% for x in [] %}a{% else %}empty{% endfor %}", "empty")]
    [InlineData("{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", "13")]
    [InlineData("{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set ns.n = ns.n + x %}{% set local = 5 %}{% endfor %}{{ ns.n }}{{ local is defined }}", "3False")]
    [InlineData("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', punct='?') }}", "Hi Ann! Hi Bo?")]
    [InlineData("{{ {'b': 1, 'a': [true, none, 'é\"']} | tojson }}", "{\"b\": 1, \"a\": [true, null, \"é\\\"\"]}")]
    [InlineData("{{ {'a': 1} | tojson(indent=2) }}", "{\n  \"a\": 1\n}")]
    [InlineData("{{ ['a', 'b'] | join(', ') | upper }} {{ ' x '.strip() }} {{ 'a,b'.split(',') }}", "A, B x ['a', 'b']")]
    [InlineData("{{ missing }}|{{ missing is defined }}|{{ missing | default('d') }}|{{ {'a': 1}.b is defined }}", "|False|d|False")]
    [InlineData("{{ strftime_now('%d %b %Y') }}", "15 Jan 2026")]
    [InlineData("{% set x %}in{{ 1 }}{% endset %}{{ x }}", "in1")]
    [InlineData("{{ 'yes' if 1 in [1] else 'no' }} {{ 'ab' in 'cabd' }} {{ 'k' in {'k': 1} }}", "yes True True")]
    [InlineData("{{ [3, 1, 2] | sort | list }} {{ [{'n': 'b'}, {'n': 'a'}] | map(attribute='n') | join }}", "[1, 2, 3] ba")]
    [InlineData("{{ 1.0 }} {{ 0.5 + 1 }} {{ 3 | float }} {{ '42' | int + 1 }}", "1.0 1.5 3.0 43")]
    [InlineData("{% set d = {1: 'a', 'x': 2, 2.5: 'c'} %}{{ d[1] }}{{ d[true] }}{{ d[1.0] }}{{ d[2.5] }} {{ 1 in d }} {{ '1' in d }} {{ d.get(1) }}", "aaac True False a")]
    [InlineData("{{ {1: 'a', true: 'b'} }} {{ {1: 'a', 'k': none} | tojson }}", "{1: 'b'} {\"1\": \"a\", \"k\": null}")]
    [InlineData("{% for k, v in {16: 'b', 2: 'a'} | dictsort %}{{ k }}{{ v }}{% endfor %} {% for k, v in {'b': 1, 'A': 2} | dictsort %}{{ k }}{% endfor %}", "2a16b Ab")]
    public void RendersLikeJinja2(string template, string expected) => Assert.Equal(expected, Render(template));

    [Fact]
    public void AListCannotKeyADict()
    {
        var e = Assert.Throws<TemplateException>(() => Render("{{ {[1]: 2} }}"));
        Assert.Contains("unhashable type: 'list'", e.Message);
    }

    [Fact]
    public void RaiseExceptionIsTheTemplatesOwnError()
    {
        var e = Assert.Throws<TemplateException>(() => Render("{{ raise_exception('System role not supported') }}"));
        Assert.True(e.RaisedByTemplate);
        Assert.Equal("System role not supported", e.Message);
    }

    [Theory]
    [InlineData("{% if x %}", "line 1")]
    [InlineData("line\n{{ 1 + }}", "line 2")]
    [InlineData("{% frobnicate %}", "unknown tag 'frobnicate'")]
    [InlineData("{{ 'abc }}", "never closed")]
    public void SyntaxErrorsNameTheLine(string template, string fragment)
    {
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse(template));
        Assert.Contains(fragment, e.Message);
        Assert.False(e.RaisedByTemplate);
    }

    [Fact]
    public void UsingAnUndefinedValueFurtherIsAnError()
    {
        var e = Assert.Throws<TemplateException>(() => Render("{{ functions.name }}"));
        Assert.Equal("UndefinedError: 'functions' is undefined", e.Message);
        Assert.Throws<TemplateException>(() => Render("{{ [].append(1) }}")); // the sandbox is immutable
    }

    [Fact]
    public void TheQwen2ModelsOwnTemplateRendersAChat()
    {
        using var file = GgufFile.Open(TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"));
        var messages = new List<object?> { new Dictionary<string, object?> { ["role"] = "user", ["content"] = "Hi" } };
        string text = ChatTemplate.FromGguf(file).Render(new Dictionary<string, object?> { ["messages"] = messages, ["add_generation_prompt"] = true });
        Assert.Contains("<|im_start|>user\nHi<|im_end|>\n", text);
        Assert.EndsWith("<|im_start|>assistant\n", text);
    }
}
