"""Pull-request review: which environments a change touches, their policies, costs and summary.

Reading definitions, policies and costs needs neither the CDK layer nor boto3; only planning
the changed environments (`envctl.review.run`) does, and it imports them lazily.
"""
