"""Write the built-in retrieval suite kb-retrieval (issue #13): 20 short knowledge-base passages
and 24 questions, each answered by one passage. Run: python scripts/kb_retrieval_suite.py"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

docs = {
    "kb-01": "To reset your online banking password, open the login page, choose 'Forgot password' and confirm with the code sent to your registered mobile phone.",
    "kb-02": "Card payments abroad in euro are free of charge; payments in other currencies carry a 1.5% foreign exchange fee.",
    "kb-03": "If your debit card is lost or stolen, block it immediately in the app under Cards > Block, or call the 24-hour hotline.",
    "kb-04": "Mortgage applicants must provide their last three payslips, the latest tax assessment and a copy of a valid identity document.",
    "kb-05": "SEPA instant transfers arrive within ten seconds, at any time of day, up to a limit of 100,000 euro per transfer.",
    "kb-06": "The bank keeps account statements for ten years; older statements can be ordered from the archive for a fee of 5 euro each.",
    "kb-07": "Under the GDPR you may ask for a copy of the personal data we hold about you; we answer within one month of the request.",
    "kb-08": "Hospital visiting hours are from 2 pm to 8 pm on weekdays and from 10 am to 8 pm at weekends; intensive care has its own rules.",
    "kb-09": "Patients must fast for eight hours before a general anaesthetic: no food, and only clear water until two hours before surgery.",
    "kb-10": "Prescriptions for chronic treatment can be renewed by the general practitioner for up to twelve months without a new specialist visit.",
    "kb-11": "Employees accrue 2.5 days of paid leave per month worked; unused days expire on 31 March of the following year.",
    "kb-12": "Expense claims must be submitted within 60 days with itemised receipts; meals are reimbursed up to 25 euro per person.",
    "kb-13": "Remote work is allowed up to three days a week after the probation period, subject to the manager's agreement.",
    "kb-14": "A contract signed at a distance can be cancelled within fourteen days without giving any reason and without penalty.",
    "kb-15": "Invoices are payable within 30 days; late payments bear statutory interest plus a fixed recovery fee of 40 euro.",
    "kb-16": "Confidential documents must be stored in the document management system, never on personal laptops or USB sticks.",
    "kb-17": "Report a suspected phishing e-mail by forwarding it to the security team and deleting it; never click on its links.",
    "kb-18": "The company car may be used privately; the private use is taxed as a benefit in kind of 1% of the list price per month.",
    "kb-19": "Parental leave can be taken until the child turns eight, in blocks of at least one month, with 60 days' notice.",
    "kb-20": "Data about patients may only be shared with other care providers involved in the treatment, unless the patient consents.",
}
queries = [
    ("I forgot how to log in to my account online, what do I do?", "kb-01"),
    ("Is there a fee when I pay with my card in dollars?", "kb-02"),
    ("Someone stole my wallet with my bank card in it", "kb-03"),
    ("Which papers do I need to apply for a home loan?", "kb-04"),
    ("How fast does an instant transfer reach the other bank?", "kb-05"),
    ("Can I still get a bank statement from twelve years ago?", "kb-06"),
    ("I want to know what information you store about me", "kb-07"),
    ("When can I visit my father in the hospital on Saturday?", "kb-08"),
    ("Can I eat breakfast on the morning of my operation?", "kb-09"),
    ("Do I need to see the specialist again to get my regular medication?", "kb-10"),
    ("How many holiday days do I earn each month?", "kb-11"),
    ("What is the deadline to claim back a business dinner?", "kb-12"),
    ("How often may I work from home?", "kb-13"),
    ("I bought a subscription online and changed my mind, can I withdraw?", "kb-14"),
    ("What happens if a customer pays our bill late?", "kb-15"),
    ("Where should sensitive files be kept?", "kb-16"),
    ("I received a suspicious mail asking for my password", "kb-17"),
    ("Is driving the company vehicle at the weekend taxed?", "kb-18"),
    ("Until what age of my kid can I take leave to care for them?", "kb-19"),
    ("May the clinic send my medical records to another doctor?", "kb-20"),
    ("My card was blocked at the cash machine abroad and I think it was skimmed", "kb-03"),
    ("Do transfers within Europe work on Sunday night?", "kb-05"),
    ("What is the maximum reimbursement for lunch with a client?", "kb-12"),
    ("How long do you take to answer a subject access request?", "kb-07"),
]
header = {
    "name": "kb-retrieval",
    "description": "Retrieval: which of 20 short knowledge-base passages (bank, hospital, HR, legal) answers a question; scored by recall@3.",
    "scorer": "recall_at_k",
    "options": {"k": 3, "corpus": docs},
    "generation": {"max_tokens": 24, "temperature": 0, "stop": ["\nUser:", "\n\n"]},
    "prefix_messages": [
        {
            "role": "system",
            "content": "Knowledge base:\n"
            + "\n".join(f"[{k}] {v}" for k, v in docs.items())
            + "\nAnswer with the ids of the three passages that best answer the question, most relevant first, e.g. kb-07, kb-02, kb-11.",
        }
    ],
}
out = str(Path(__file__).resolve().parents[1] / "src" / "souverain" / "evaluation" / "suites") + "/"
with open(out + "kb-retrieval.suite.yaml", "w") as f:
    f.write("# Generated by scripts/kb_retrieval_suite.py; edit the script, not this file.\n")
    yaml.safe_dump(header, f, sort_keys=False, allow_unicode=True, width=100)
with open(out + "kb-retrieval.jsonl", "w") as f:
    for i, (q, d) in enumerate(queries, 1):
        f.write(
            json.dumps(
                {"id": f"q-{i:02d}", "messages": [{"role": "user", "content": q}], "expected": d}
            )
            + "\n"
        )
