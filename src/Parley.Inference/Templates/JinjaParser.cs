namespace Parley.Inference.Templates;

/// <summary>
/// Recursive-descent parser for the Jinja2 subset real chat templates use, with Jinja2's operator
/// precedence: conditional, or, and, not, comparisons and 'in', + -, ~, * / // %, **, unary, then
/// postfix (attribute, subscript, slice, call) with filters and tests.
/// </summary>
internal sealed class JinjaParser(List<Token> tokens)
{
    private int _i;

    private Token Current => tokens[_i];

    public List<Stmt> ParseTemplate()
    {
        var body = ParseBody(out var end);
        if (end is not null) throw Error($"unexpected '{end}'");
        return body;
    }

    private TemplateException Error(string problem) => new($"template syntax error at line {Current.Line}: {problem}");

    private Token Next() => tokens[_i++];

    private Token Expect(TokenKind kind, string? value = null)
    {
        var t = Current;
        if (t.Kind != kind || (value != null && t.Value != value))
        {
            throw Error($"expected {(value != null ? $"'{value}'" : kind.ToString().ToLowerInvariant())}, found {t}");
        }

        _i++;
        return t;
    }

    private string ExpectName() => Expect(TokenKind.Name).Value;

    private bool AcceptOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        _i++;
        return true;
    }

    private bool AcceptName(string name)
    {
        if (!Current.IsName(name)) return false;
        _i++;
        return true;
    }

    /// <summary>Statements until a block tag whose keyword is in <paramref name="enders"/> (returned, its tag left open) or the end.</summary>
    private List<Stmt> ParseBody(out string? end, params string[] enders)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    end = null;
                    if (enders.Length > 0) throw Error($"the template ended where {string.Join(" or ", enders.Select(e => $"'{e}'"))} was expected");
                    return body;
                case TokenKind.Text:
                    _i++;
                    body.Add(new TextStmt(t.Value, t.Line));
                    break;
                case TokenKind.VarBegin:
                    _i++;
                    var value = ParseExpression();
                    Expect(TokenKind.VarEnd);
                    body.Add(new OutputStmt(value, t.Line));
                    break;
                case TokenKind.BlockBegin:
                    var keyword = tokens[_i + 1];
                    if (keyword.Kind == TokenKind.Name && enders.Contains(keyword.Value))
                    {
                        _i += 2;
                        end = keyword.Value;
                        return body;
                    }

                    _i++;
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected {t}");
            }
        }
    }

    private Stmt ParseStatement()
    {
        var t = Expect(TokenKind.Name);
        switch (t.Value)
        {
            case "if": return ParseIf(t.Line);
            case "for": return ParseFor(t.Line);
            case "set": return ParseSet(t.Line);
            case "macro": return ParseMacro(t.Line);
            case "call": return ParseCallBlock(t.Line);
            case "filter": return ParseFilterBlock(t.Line);
            case "generation":
                {
                    Expect(TokenKind.BlockEnd);
                    var body = ParseBody(out _, "endgeneration");
                    Expect(TokenKind.BlockEnd);
                    return new GenerationStmt(body, t.Line);
                }

            case "do":
                {
                    var e = ParseExpression();
                    Expect(TokenKind.BlockEnd);
                    return new DoStmt(e, t.Line);
                }

            case "break" or "continue":
                Expect(TokenKind.BlockEnd);
                return new LoopControlStmt(t.Value == "break", t.Line);
            default:
                throw new TemplateException($"template syntax error at line {t.Line}: unknown tag '{t.Value}'");
        }
    }

    private IfStmt ParseIf(int line)
    {
        var branches = new List<(Expr, List<Stmt>)>();
        var test = ParseExpression();
        Expect(TokenKind.BlockEnd);
        while (true)
        {
            var body = ParseBody(out var end, "elif", "else", "endif");
            branches.Add((test, body));
            if (end == "elif")
            {
                test = ParseExpression();
                Expect(TokenKind.BlockEnd);
                continue;
            }

            if (end == "else")
            {
                Expect(TokenKind.BlockEnd);
                var elseBody = ParseBody(out _, "endif");
                Expect(TokenKind.BlockEnd);
                return new IfStmt(branches, elseBody, line);
            }

            Expect(TokenKind.BlockEnd);
            return new IfStmt(branches, null, line);
        }
    }

    private ForStmt ParseFor(int line)
    {
        var targets = new List<string> { ExpectName() };
        while (AcceptOp(",")) targets.Add(ExpectName());
        Expect(TokenKind.Name, "in");
        var iterable = ParseCondition(allowTernary: false);
        Expr? filter = null;
        if (AcceptName("if")) filter = ParseCondition(allowTernary: false);
        bool recursive = AcceptName("recursive");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out var end, "else", "endfor");
        List<Stmt>? elseBody = null;
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd);
            elseBody = ParseBody(out _, "endfor");
        }

        Expect(TokenKind.BlockEnd);
        return new ForStmt(targets, iterable, filter, body, elseBody, recursive, line);
    }

    private SetStmt ParseSet(int line)
    {
        var targets = new List<string> { ExpectName() };
        string? attribute = null;
        if (AcceptOp(".")) attribute = ExpectName();
        else
        {
            while (AcceptOp(",")) targets.Add(ExpectName());
        }

        if (AcceptOp("="))
        {
            var value = ParseTupleOrExpression();
            Expect(TokenKind.BlockEnd);
            return new SetStmt(targets, attribute, value, null, line);
        }

        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endset");
        Expect(TokenKind.BlockEnd);
        return new SetStmt(targets, attribute, null, body, line);
    }

    private List<(string, Expr?)> ParseParams()
    {
        var ps = new List<(string, Expr?)>();
        Expect(TokenKind.Operator, "(");
        while (!AcceptOp(")"))
        {
            if (ps.Count > 0) Expect(TokenKind.Operator, ",");
            if (AcceptOp(")")) break;
            string name = ExpectName();
            ps.Add((name, AcceptOp("=") ? ParseExpression() : null));
        }

        return ps;
    }

    private MacroStmt ParseMacro(int line)
    {
        string name = ExpectName();
        var ps = ParseParams();
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endmacro");
        Expect(TokenKind.BlockEnd);
        return new MacroStmt(name, ps, body, line);
    }

    private CallBlockStmt ParseCallBlock(int line)
    {
        var ps = Current.IsOp("(") ? ParseParams() : [];
        if (ParsePostfix(ParsePrimary()) is not CallExpr call) throw Error("expected a macro call after 'call'");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endcall");
        Expect(TokenKind.BlockEnd);
        return new CallBlockStmt(call, ps, body, line);
    }

    private FilterBlockStmt ParseFilterBlock(int line)
    {
        var filter = ParseFilter(new Literal(null, line));
        while (AcceptOp("|")) filter = ParseFilter(filter);
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endfilter");
        Expect(TokenKind.BlockEnd);
        return new FilterBlockStmt(filter, body, line);
    }

    /// <summary>An expression, or several separated by commas as a tuple (for set and for iterables).</summary>
    private Expr ParseTupleOrExpression()
    {
        int line = Current.Line;
        var first = ParseExpression();
        if (!Current.IsOp(",")) return first;
        var items = new List<Expr> { first };
        while (AcceptOp(","))
        {
            if (Current.Kind == TokenKind.BlockEnd) break;
            items.Add(ParseExpression());
        }

        return new TupleExpr(items, line);
    }

    public Expr ParseExpression() => ParseCondition(allowTernary: true);

    private Expr ParseCondition(bool allowTernary)
    {
        var expr = ParseOr();
        while (allowTernary && Current.IsName("if"))
        {
            int line = Next().Line;
            var test = ParseOr();
            Expr? otherwise = AcceptName("else") ? ParseCondition(true) : null;
            expr = new CondExpr(test, expr, otherwise, line);
        }

        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            int line = Next().Line;
            left = new BinaryExpr("or", left, ParseAnd(), line);
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            int line = Next().Line;
            left = new BinaryExpr("and", left, ParseNot(), line);
        }

        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            int line = Next().Line;
            return new UnaryExpr("not", ParseNot(), line);
        }

        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var left = ParseMath1();
        while (true)
        {
            var t = Current;
            int line = t.Line;
            if (t.Kind == TokenKind.Operator && t.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                _i++;
                left = new BinaryExpr(t.Value, left, ParseMath1(), line);
            }
            else if (t.IsName("in"))
            {
                _i++;
                left = new BinaryExpr("in", left, ParseMath1(), line);
            }
            else if (t.IsName("not") && tokens[_i + 1].IsName("in"))
            {
                _i += 2;
                left = new BinaryExpr("not in", left, ParseMath1(), line);
            }
            else
            {
                return left;
            }
        }
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.IsOp("+") || Current.IsOp("-"))
        {
            var t = Next();
            left = new BinaryExpr(t.Value, left, ParseConcat(), t.Line);
        }

        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMath2();
        while (Current.IsOp("~"))
        {
            var t = Next();
            left = new BinaryExpr("~", left, ParseMath2(), t.Line);
        }

        return left;
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var t = Next();
            left = new BinaryExpr(t.Value, left, ParsePow(), t.Line);
        }

        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        while (Current.IsOp("**"))
        {
            var t = Next();
            left = new BinaryExpr("**", left, ParseUnary(withFilter: true), t.Line);
        }

        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Expr node;
        if (Current.IsOp("-") || Current.IsOp("+"))
        {
            var t = Next();
            node = new UnaryExpr(t.Value, ParseUnary(withFilter: false), t.Line);
        }
        else
        {
            node = ParsePostfix(ParsePrimary());
        }

        return withFilter ? ParseFilterAndTests(node) : node;
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Name:
                return t.Value switch
                {
                    "true" or "True" => new Literal(true, t.Line),
                    "false" or "False" => new Literal(false, t.Line),
                    "none" or "None" => new Literal(null, t.Line),
                    _ => new NameExpr(t.Value, t.Line),
                };
            case TokenKind.String:
                {
                    string s = t.Value;
                    while (Current.Kind == TokenKind.String) s += Next().Value; // adjacent literals concatenate
                    return new Literal(s, t.Line);
                }

            case TokenKind.Integer or TokenKind.Float:
                return new Literal(t.Literal, t.Line);
            case TokenKind.Operator when t.Value == "(":
                {
                    if (AcceptOp(")")) return new TupleExpr([], t.Line);
                    var first = ParseExpression();
                    if (AcceptOp(")")) return first;
                    var items = new List<Expr> { first };
                    while (AcceptOp(","))
                    {
                        if (Current.IsOp(")")) break;
                        items.Add(ParseExpression());
                    }

                    Expect(TokenKind.Operator, ")");
                    return new TupleExpr(items, t.Line);
                }

            case TokenKind.Operator when t.Value == "[":
                {
                    var items = new List<Expr>();
                    while (!AcceptOp("]"))
                    {
                        if (items.Count > 0) Expect(TokenKind.Operator, ",");
                        if (AcceptOp("]")) break;
                        items.Add(ParseExpression());
                    }

                    return new ListExpr(items, t.Line);
                }

            case TokenKind.Operator when t.Value == "{":
                {
                    var pairs = new List<(Expr, Expr)>();
                    while (!AcceptOp("}"))
                    {
                        if (pairs.Count > 0) Expect(TokenKind.Operator, ",");
                        if (AcceptOp("}")) break;
                        var key = ParseExpression();
                        Expect(TokenKind.Operator, ":");
                        pairs.Add((key, ParseExpression()));
                    }

                    return new DictExpr(pairs, t.Line);
                }

            default:
                _i--;
                throw Error($"unexpected {t}");
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOp("."))
            {
                _i++;
                var name = Next();
                if (name.Kind is not (TokenKind.Name or TokenKind.Integer)) throw Error($"expected an attribute name after '.', found {name}");
                node = name.Kind == TokenKind.Integer ? new GetItem(node, new Literal(name.Literal, name.Line), t.Line) : new GetAttr(node, name.Value, t.Line);
            }
            else if (t.IsOp("["))
            {
                _i++;
                node = new GetItem(node, ParseSubscript(), t.Line);
                Expect(TokenKind.Operator, "]");
            }
            else if (t.IsOp("("))
            {
                node = ParseCall(node);
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseSubscript()
    {
        int line = Current.Line;
        Expr? start = null, stop = null, step = null;
        if (!Current.IsOp(":"))
        {
            start = ParseExpression();
            if (!Current.IsOp(":")) return start;
        }

        Expect(TokenKind.Operator, ":");
        if (!Current.IsOp("]") && !Current.IsOp(":")) stop = ParseExpression();
        if (AcceptOp(":") && !Current.IsOp("]")) step = ParseExpression();
        return new SliceExpr(start, stop, step, line);
    }

    private CallExpr ParseCall(Expr target)
    {
        int line = Expect(TokenKind.Operator, "(").Line;
        var (args, kwargs) = ParseArguments();
        return new CallExpr(target, args, kwargs, line);
    }

    /// <summary>Arguments after an opening parenthesis, through the closing one.</summary>
    private (List<Expr>, List<(string, Expr)>) ParseArguments()
    {
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!AcceptOp(")"))
        {
            if (args.Count + kwargs.Count > 0) Expect(TokenKind.Operator, ",");
            if (AcceptOp(")")) break;
            if (Current.Kind == TokenKind.Name && tokens[_i + 1].IsOp("="))
            {
                string name = Next().Value;
                _i++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                args.Add(ParseExpression());
            }
        }

        return (args, kwargs);
    }

    private Expr ParseFilterAndTests(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|"))
            {
                _i++;
                node = ParseFilter(node);
            }
            else if (Current.IsName("is"))
            {
                int line = Next().Line;
                bool negated = AcceptName("not");
                string name = ExpectName();
                var args = new List<Expr>();
                if (Current.IsOp("("))
                {
                    _i++;
                    args = ParseArguments().Item1;
                }
                else if (Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                         && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and") && !Current.IsName("if"))
                {
                    args.Add(ParsePostfix(ParsePrimary()));
                }

                node = new TestExpr(node, name, args, negated, line);
            }
            else if (Current.IsOp("("))
            {
                node = ParseCall(node);
            }
            else
            {
                return node;
            }
        }
    }

    private FilterExpr ParseFilter(Expr target)
    {
        var t = Expect(TokenKind.Name);
        string name = t.Value;
        while (AcceptOp(".")) name += "." + ExpectName();
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        if (AcceptOp("(")) (args, kwargs) = ParseArguments();
        return new FilterExpr(target, name, args, kwargs, t.Line);
    }
}
